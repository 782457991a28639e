/**
 * The mark every plugin process carries in its environment, BKG_DAEMON_RUN=<data key>.<run id>,
 * and inherits into everything it starts: the data key (a hash of the data folder's path) says
 * which daemon installation a process belongs to, the run id which start of it. A process that
 * leaves its process group (setsid) keeps the mark; one that rewrites its own environment does
 * not, which is why docs/supervision.md promises reaping only for processes that keep theirs.
 */
import { createHash, randomBytes } from "node:crypto";
import { resolve } from "node:path";

export const RUN_MARKER_VAR = "BKG_DAEMON_RUN";

/** The part of the mark shared by every daemon run on one data folder. */
export function dataKey(dataDir: string): string {
  return createHash("sha256").update(resolve(dataDir)).digest("hex").slice(0, 16);
}

/** A new mark for this daemon run on `dataDir`. */
export function newRunMarker(dataDir: string): string {
  return `${dataKey(dataDir)}.${randomBytes(6).toString("hex")}`;
}
