/**
 * A pino destination that appends to a size-rotated file (RotatingFile), for a daemon that
 * runs without a terminal (`bkg daemon start --log-file`, which --detach uses). Lines are
 * batched and written every FLUSH_MS, at MAX_BUFFER, on flush and at process exit, so a busy
 * daemon makes no write system call per line. A line is never split across two files.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { RotatingFile, type LogFileSettings } from "./rotating-file.js";

const FLUSH_MS = 200;
const MAX_BUFFER = 64 * 1024;

export class RotatingLogStream {
  private readonly file: RotatingFile;
  private buffer = "";
  private timer?: NodeJS.Timeout;
  private reported = false;

  constructor(
    readonly path: string,
    settings: LogFileSettings,
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.file = new RotatingFile(path, settings);
    process.once("exit", () => this.flushSync());
  }

  write(line: string): boolean {
    this.buffer += line;
    if (this.buffer.length >= MAX_BUFFER) this.flushSync();
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
    if (!this.buffer) return;
    const text = this.buffer;
    this.buffer = "";
    try {
      this.file.write(text);
      this.reported = false;
    } catch (e) {
      // The log itself is what failed: stderr is the only place left to say so, once.
      if (!this.reported) process.stderr.write(`bkg: cannot write ${this.path}: ${(e as Error).message}\n`);
      this.reported = true;
    }
  }

  end(): void {
    this.flushSync();
    this.file.close();
  }
}
