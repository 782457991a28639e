/**
 * Lines batched into a size-rotated file (RotatingFile): the plugins' log files and the daemon's
 * own (`bkg daemon start --log-file`, which --detach uses; it is a pino destination). Lines are
 * written every FLUSH_MS, at MAX_BUFFER, on flush and on end, so a busy process makes no write
 * system call per line; a process killed with SIGKILL loses at most that much. A batch is written
 * in one piece per rotation segment, so no file passes maxBytes by more than a line.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { RotatingFile, type LogFileSettings } from "./rotating-file.js";

const FLUSH_MS = 200;
/** Past this much buffered text, it is written at once. */
const MAX_BUFFER = 64 * 1024;

export interface RotatingLogStreamOptions {
  /** Told once (until a write succeeds again) when the file cannot be written. Default: a line on stderr. */
  onError?: (message: string) => void;
  /** Also write what is buffered when the process exits (for the daemon's own log). */
  flushOnExit?: boolean;
}

export class RotatingLogStream {
  private readonly file: RotatingFile;
  private lines: string[] = [];
  private buffered = 0;
  private timer?: NodeJS.Timeout;
  private failed = false;
  private readonly onError: (message: string) => void;

  constructor(
    readonly path: string,
    private readonly settings: LogFileSettings,
    options: RotatingLogStreamOptions = {},
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.file = new RotatingFile(path, settings);
    // The log itself is what failed: stderr is the only place left to say so.
    this.onError = options.onError ?? ((message) => process.stderr.write(`bkg: ${message}\n`));
    if (options.flushOnExit) process.once("exit", () => this.flushSync());
  }

  write(line: string): boolean {
    this.lines.push(line);
    this.buffered += line.length;
    if (this.buffered >= MAX_BUFFER) this.flushSync();
    else this.timer ??= setTimeout(() => this.flushSync(), FLUSH_MS).unref();
    return true;
  }

  /** pino's logger.flush() calls this. */
  flush(cb?: (err?: Error) => void): void {
    this.flushSync();
    cb?.();
  }

  flushSync(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.lines.length) return;
    const lines = this.lines;
    this.lines = [];
    this.buffered = 0;
    try {
      // One join, one length: appending to a string and measuring it per line made V8 flatten
      // the growing string each time (quadratic copying, most of a busy daemon's garbage).
      const text = lines.join("");
      const bytes = Buffer.byteLength(text);
      if (bytes <= this.settings.maxBytes) this.file.write(text, bytes);
      else this.writeSegments(lines);
      this.failed = false;
    } catch (e) {
      if (!this.failed) this.onError(`cannot write ${this.path}: ${(e as Error).message}`);
      this.failed = true;
    }
  }

  /** A batch larger than one file: written in pieces of whole lines, each at most maxBytes where a line allows. */
  private writeSegments(lines: string[]): void {
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < lines.length; i++) {
      const n = Buffer.byteLength(lines[i]);
      if (bytes > 0 && bytes + n > this.settings.maxBytes) {
        this.file.write(lines.slice(start, i).join(""), bytes);
        start = i;
        bytes = 0;
      }
      bytes += n;
    }
    this.file.write(lines.slice(start).join(""), bytes);
  }

  end(): void {
    this.flushSync();
    this.file.close();
  }
}
