import { pino, type Logger, type LevelWithSilent } from "pino";
import type { LogFileSettings } from "./rotating-file.js";
import { RotatingLogStream } from "./rotating-log-stream.js";

/**
 * The daemon's logger: JSON lines on stdout, pretty in a terminal (pino-pretty, loaded only
 * then so the JSON path stays dependency-light). BKG_LOG_FORMAT=json|pretty forces either.
 * With `file`, JSON lines go to that file with size rotation instead.
 */
export function createLogger(
  level: LevelWithSilent,
  options: { pretty?: boolean; destination?: number | string; file?: { path: string } & LogFileSettings } = {},
): Logger {
  if (options.file) return pino({ level, base: { pid: process.pid } }, new RotatingLogStream(options.file.path, options.file, { flushOnExit: true }));
  const format = process.env.BKG_LOG_FORMAT;
  const pretty = options.pretty ?? (format ? format === "pretty" : Boolean(process.stdout.isTTY));
  if (pretty) {
    return pino({
      level,
      transport: { target: "pino-pretty", options: { colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" } },
    });
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: options.destination ?? 1, sync: false }));
}

export type { Logger };
