/**
 * Spawning, apart from speaking the protocol (go-plugin's runner vs client): builds argv,
 * working directory and an allow-listed environment, and starts the process as the leader of its
 * own process group so the whole tree can be signalled at once.
 */
import { mkdirSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { PROTOCOL_VERSION } from "@bkg/protocol";
import type { Manifest } from "../registry/index.js";
import { RUN_MARKER_VAR } from "./run-marker.js";
import { resolveEnvReferences } from "./resolve-env-references.js";

/**
 * The daemon's variables a plugin gets without asking: what a process needs to find programs,
 * its home, its locale, its clock and its temp folder. Everything else (DATABASE_URL, GH_PAT,
 * AWS_*, the daemon's own BKG_*) stays behind unless the manifest names it in `passEnv`:
 * scrubbing by name let secrets through whose names matched no pattern.
 */
const ALWAYS_PASSED = new Set(["PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "USER", "LOGNAME"]);

/** Does `name` match a passEnv entry (an exact name, or a prefix ending in `*`)? */
function passes(name: string, passEnv: readonly string[]): boolean {
  return passEnv.some((p) => (p.endsWith("*") ? name.startsWith(p.slice(0, -1)) : name === p));
}

/**
 * The environment of a plugin process: the allow-list above and LC_*, the variables the
 * manifest's `passEnv` names, the manifest's `env` (with `{"$env": "NAME"}` references
 * resolved), then the BKG_* variables the daemon sets, which nothing overrides. Throws a
 * permanent BkgError when a reference names a variable the daemon does not have.
 * `runMarker` (BKG_DAEMON_RUN) tags the process and everything it starts as this daemon's, for
 * the orphan reaper (see orphan-reaper.ts). `modelsDir` (BKG_MODELS_DIR, absolute) is the model
 * store's folder, where a plugin finds <name>/model.json (docs/models.md).
 */
export function pluginEnv(m: Manifest, instanceId: string, dataDir: string, daemonEnv: NodeJS.ProcessEnv, runMarker?: string, modelsDir?: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(daemonEnv)) {
    if (v === undefined || k.startsWith("BKG_")) continue;
    if (ALWAYS_PASSED.has(k) || k.startsWith("LC_") || passes(k, m.passEnv)) env[k] = v;
  }
  Object.assign(env, resolveEnvReferences(m.env, daemonEnv, { file: m.file, pointer: "/env" }));
  env.BKG_PLUGIN_NAME = m.name;
  env.BKG_INSTANCE_ID = instanceId;
  env.BKG_DATA_DIR = dataDir;
  env.BKG_PROTOCOL_VERSION = PROTOCOL_VERSION;
  if (modelsDir) env.BKG_MODELS_DIR = modelsDir;
  if (runMarker) env[RUN_MARKER_VAR] = runMarker;
  return env;
}

/** argv with "node" resolved to this daemon's Node, and a heap cap from limits.memoryMb. */
export function pluginArgv(m: Manifest): [string, string[]] {
  const [cmd, ...args] = m.command;
  if (cmd === "node" || cmd === process.execPath) {
    const heap = m.limits.memoryMb ? [`--max-old-space-size=${m.limits.memoryMb}`] : [];
    return [process.execPath, [...heap, ...args]];
  }
  return [cmd, args];
}

/**
 * Starts the plugin process. Never throws for a missing binary: the returned child emits
 * 'error' and 'close' like any other failure, which the instance turns into a crash report.
 *
 * node:child_process directly, not execa: of execa's options the daemon used none that spawn
 * lacks (its `cleanup` does not apply to detached children; bkg's own orphan handling covers
 * that), and execa cost ~140 ms of import (260 modules), ~5 MiB of RSS and ~7 ms per spawn —
 * time that lands on every start, restart and standby promotion.
 */
export function spawnPlugin(m: Manifest, _instanceId: string, dataDir: string, env: Record<string, string>): ChildProcess {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const [file, args] = pluginArgv(m);
  return spawn(file, args, {
    cwd: m.cwd,
    env,
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
}

/** Signals the child's whole process group; a no-op when it is already gone. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}
