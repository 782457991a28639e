/** Printing for people (tables) and for scripts (--json), and the CLI's exit codes. */
import { BkgError, errorInfo } from "@bkg/protocol";

/** 0 done; 1 the operation failed; 2 a usage error; 3 no daemon runs; 78 the config is invalid (EX_CONFIG). */
export const EXIT = { ok: 0, error: 1, usage: 2, noDaemon: 3, config: 78 } as const;

export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plain aligned table; long cells are cut so one row stays one line. */
export function printTable(headers: string[], rows: (string | number | undefined)[][], maxCell = 60): void {
  const cells = [headers, ...rows.map((r) => r.map((c) => cut(String(c ?? ""), maxCell)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0)));
  for (const r of cells)
    process.stdout.write(
      `${r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
        .join("  ")
        .trimEnd()}\n`,
    );
}

function cut(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60}s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h${m % 60}m` : `${Math.floor(h / 24)}d${h % 24}h`;
}

/** One line for a failed call: code, name and the daemon's message. */
export function describeError(e: unknown): string {
  const err = BkgError.from(e);
  const name = errorInfo(err.code)?.name;
  return `error ${err.code}${name ? ` ${name}` : ""}: ${err.message}`;
}
