/**
 * Checks that a manifest's plugin can be started at all before anything is spawned: its `cwd`
 * exists and its command is an executable file (found on the plugin's PATH when it has no
 * slash). Otherwise spawn fails with "spawn node ENOENT" on every restart: a crash loop that
 * names neither the manifest nor the field to fix.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { BkgError, ErrorCodes } from "@bkg/protocol";
import type { Manifest } from "../registry/index.js";

/** Throws a permanent BkgError naming the manifest file and the field when the plugin cannot be launched. */
export function checkLaunchable(m: Manifest, executable: string, env: Record<string, string>): void {
  const near = relative(process.cwd(), m.file);
  const where = near && !near.startsWith("..") ? near : m.file;
  if (!isDirectory(m.cwd)) {
    const shown = relative(dirname(m.file), m.cwd) || ".";
    throw new BkgError(ErrorCodes.InvalidRequest, `cwd ${shown} does not exist (${where}, field /cwd; resolved to ${m.cwd})`, { permanent: true, field: "/cwd" });
  }
  if (executable.includes("/")) {
    const path = isAbsolute(executable) ? executable : resolve(m.cwd, executable);
    if (!isExecutableFile(path)) {
      throw new BkgError(ErrorCodes.InvalidRequest, `command ${JSON.stringify(m.command[0])} is not an executable file (${where}, field /command/0; resolved to ${path})`, {
        permanent: true,
        field: "/command/0",
      });
    }
    return;
  }
  const dirs = (env.PATH ?? "").split(delimiter).filter(Boolean);
  if (!dirs.some((d) => isExecutableFile(join(isAbsolute(d) ? d : resolve(m.cwd, d), executable)))) {
    throw new BkgError(
      ErrorCodes.InvalidRequest,
      `command ${JSON.stringify(executable)} was not found on the plugin's PATH (${where}, field /command/0); install it, give its full path, or pass a PATH with "passEnv"`,
      { permanent: true, field: "/command/0" },
    );
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
