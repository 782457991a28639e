/**
 * Work folders of pulls live in <dir>/.tmp/<name>-<pid>-<rand>. One whose process is gone was
 * interrupted (killed, power cut): removeLeftovers() deletes it, at daemon start and before a
 * pull. A live process's folder is left alone (an offline `bkg models pull` may be running).
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pidAlive } from "./store-lock.js";

export const TMP_DIR = ".tmp";

/** Removes the work folders of pulls whose process is gone; returns their names. Never throws. */
export function removeLeftovers(modelsDir: string): string[] {
  const dir = join(modelsDir, TMP_DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const pid = Number(/-(\d+)-[0-9a-f]+$/.exec(n)?.[1]);
    if (pidAlive(pid)) continue;
    try {
      rmSync(join(dir, n), { recursive: true, force: true });
      removed.push(n);
    } catch {
      /* the next start tries again */
    }
  }
  return removed;
}
