import { createRequire } from "node:module";
import { pino, type Logger, type LevelWithSilent } from "pino";
import type { LogFileSettings } from "./rotating-file.js";
import { RotatingLogStream } from "./rotating-log-stream.js";

/**
 * The daemon's logger: JSON lines on stdout, pretty in a terminal (pino-pretty, loaded only
 * then so the JSON path stays dependency-light). BKG_LOG_FORMAT=json|pretty forces either.
 * With `file`, JSON lines go to that file with size rotation instead.
 */
/**
 * A terminal gets one line per entry. The daemon's own lines already name their plugin in the
 * message ("echo#1 ready: pid 42"), so the plugin fields are not repeated after it; a plugin's
 * own log lines (they carry `stream`) get their instance in front instead.
 */
const PRETTY = {
  colorize: true,
  translateTime: "HH:MM:ss.l",
  singleLine: true,
  messageFormat: (log: Record<string, unknown>, messageKey: string) => (log.stream && log.instance ? `${String(log.instance)}: ${String(log[messageKey])}` : String(log[messageKey])),
  ignore: "pid,hostname,plugin,instance,stream,state",
};

/** pino-pretty in this thread (a function cannot cross into a transport's worker), required only for a terminal. */
function prettyStream(): NodeJS.WritableStream {
  const build = createRequire(import.meta.url)("pino-pretty") as (options: typeof PRETTY) => NodeJS.WritableStream;
  return build(PRETTY);
}

export function createLogger(level: LevelWithSilent, options: { pretty?: boolean; destination?: number | string; file?: { path: string } & LogFileSettings } = {}): Logger {
  if (options.file) return pino({ level, base: { pid: process.pid } }, new RotatingLogStream(options.file.path, options.file, { flushOnExit: true }));
  const format = process.env.BKG_LOG_FORMAT;
  const pretty = options.pretty ?? (format ? format === "pretty" : Boolean(process.stdout.isTTY));
  if (pretty) {
    return pino({ level }, prettyStream());
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: options.destination ?? 1, sync: false }));
}

export type { Logger };
