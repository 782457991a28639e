/**
 * Reads a small /proc file (stat, statm) through one reused buffer. /proc files report a size
 * of 0, for which readFileSync allocates a fresh 64 KiB buffer per call: the once-a-second scan
 * reads every process's stat, so on a machine with 80 processes that was 5 MiB of garbage a
 * second, which an idle daemon held until the next GC (its RSS grew by ~10 MiB between GCs).
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";

const SCRATCH = Buffer.allocUnsafe(4096);

/** The file's text (latin1). Throws as readFileSync does (ENOENT when the process is gone). */
export function readProcFile(path: string): string {
  const fd = openSync(path, "r");
  let length = 0;
  try {
    for (;;) {
      const n = readSync(fd, SCRATCH, length, SCRATCH.length - length, null);
      if (n === 0) break;
      length += n;
      // Larger than the buffer (a stat line is ~300 bytes; this is for the unexpected case).
      if (length === SCRATCH.length) return readFileSync(path, "latin1");
    }
  } finally {
    closeSync(fd);
  }
  return SCRATCH.toString("latin1", 0, length);
}
