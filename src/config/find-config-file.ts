import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";

export const CONFIG_FILE_NAME = "bkg.config.json";

/**
 * The nearest bkg.config.json: in `cwd`, then in each parent folder up to the root, the way git
 * finds its repository, so `bkg` works from inside a plugin's folder. Undefined when there is none.
 */
export function findConfigFile(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; ) {
    const candidate = resolve(dir, CONFIG_FILE_NAME);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
