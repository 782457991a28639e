/**
 * The bkg package's folder, for the files it ships beside its code (package.json, schemas/,
 * bin/bkg, the dashboard, the SQL migrations). Found upward from this module rather than at a
 * fixed depth, because the same code runs from dist/, from the CLI's bundle (dist/bundle/) and,
 * in tests, from src/.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "bin", "bkg"))) return dir;
    if (dirname(dir) === dir) throw new Error(`bkg: no package folder (package.json beside bin/bkg) above ${from}`);
  }
}

export const PACKAGE_ROOT: string = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** bin/bkg: what starts the daemon (`--detach`, `bkg dev`, systemd units). */
export const BKG_BIN: string = join(PACKAGE_ROOT, "bin", "bkg");

/** A file or folder of the package, as a path. */
export function packagePath(...parts: string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}

/** A folder of the package, as a file URL ending in "/" (to resolve names against). */
export function packageDirUrl(...parts: string[]): URL {
  return pathToFileURL(`${join(PACKAGE_ROOT, ...parts)}/`);
}
