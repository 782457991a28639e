import { pino, type Logger, type LevelWithSilent } from "pino";

/**
 * The daemon's logger: JSON lines on stdout, pretty in a terminal (pino-pretty, loaded only
 * then so the JSON path stays dependency-light). BKG_LOG_FORMAT=json|pretty forces either.
 */
export function createLogger(level: LevelWithSilent, options: { pretty?: boolean; destination?: number | string } = {}): Logger {
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
