/**
 * A file with size rotation: when a write would take it past maxBytes it becomes <path>.1
 * (.1 becomes .2, ...) and a new file starts; at most `files` files are kept, the current one
 * included. Writes are synchronous appends; callers batch lines themselves.
 */
import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

export interface LogFileSettings {
  maxBytes: number;
  files: number;
}

export class RotatingFile {
  private fd?: number;
  private size = 0;

  constructor(
    readonly path: string,
    private readonly s: LogFileSettings,
  ) {}

  /** @param bytes the text's UTF-8 length, when the caller has it */
  write(text: string, bytes = Buffer.byteLength(text)): void {
    if (this.fd === undefined) this.open();
    if (this.size > 0 && this.size + bytes > this.s.maxBytes) this.rotate();
    writeSync(this.fd!, text);
    this.size += bytes;
  }

  private open(): void {
    this.fd = openSync(this.path, "a", 0o600);
    this.size = fstatSync(this.fd).size;
  }

  private rotate(): void {
    closeSync(this.fd!);
    this.fd = undefined;
    const last = this.s.files - 1;
    rmSync(`${this.path}.${last}`, { force: true });
    for (let i = last - 1; i >= 1; i--) {
      try {
        renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      } catch {
        /* not there yet */
      }
    }
    if (last >= 1) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path, { force: true });
    this.open();
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
