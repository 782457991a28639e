/**
 * One pull of a model at a time, across processes (the daemon, `bkg models pull` run offline,
 * two test processes): a lock file <dir>/.locks/<name>.lock created exclusively, holding the
 * owner's pid. A lock whose owner is gone is taken over; a live one is waited for.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ModelError, fsError } from "./model-errors.js";

export const LOCKS_DIR = ".locks";

/** Is a process with this pid alive (EPERM: alive but not ours)? */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Runs `fn` holding the lock of `name` in `modelsDir`; waits (polling every 100 ms) while another
 * live process holds it. Rejects with Cancelled when `signal` aborts while waiting.
 */
export async function withModelLock<T>(modelsDir: string, name: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const dir = join(modelsDir, LOCKS_DIR);
  const file = join(dir, `${name}.lock`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fsError(e, dir);
  }
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw fsError(e, file);
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(file, "utf8").trim());
    } catch {
      continue; // released between our attempt and the read
    }
    // An empty file is a lock being written this instant: wait for it, like a live one.
    if (readFileSafe(file) !== "" && !pidAlive(owner)) {
      rmSync(file, { force: true });
      continue;
    }
    if (signal?.aborted) throw new ModelError("Cancelled", `waiting for another pull of ${name} cancelled`);
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

function readFileSafe(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
