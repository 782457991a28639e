/** Loading configs from a temp folder in config tests, and reading what a bad one says. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Test } from "tap";
import { ConfigError, loadConfig, type ResolvedConfig } from "../../src/config/index.js";

/** A temp folder (removed after `t`) and a loader that writes `file` there as bkg.config.json (none when undefined). */
export function configLoader(t: Test, prefix: string): { dir: string; load: (file: object | undefined, env?: Record<string, string>) => ResolvedConfig } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const load = (file: object | undefined, env: Record<string, string> = {}) => {
    const path = join(dir, "bkg.config.json");
    if (file) writeFileSync(path, JSON.stringify(file));
    return loadConfig({ file: file ? path : undefined, env, cwd: dir });
  };
  return { dir, load };
}

/** The problems a failing load reports, one "path message" per line ("no error" when it loaded). */
export function configProblems(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof ConfigError ? e.problems.map((p) => `${p.path} ${p.message}`).join("\n") : String(e);
  }
  return "no error";
}
