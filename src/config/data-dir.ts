/**
 * The data folder holds the root token, the store, logs and plugin data: only the daemon's user
 * may enter it. mkdir's mode applies only when the folder is new, so one that already exists
 * (made by hand, or by an older bkg, with the umask's 0755) is tightened here.
 */
import { chmodSync, mkdirSync, statSync } from "node:fs";

/** Makes `dir` (and its parents) and sets it to 0700. Returns the old mode when it had to tighten one. */
export function ensurePrivateDir(dir: string): number | undefined {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  chmodSync(dir, mode & 0o700);
  return mode;
}
