/**
 * Spawning, apart from speaking the protocol (go-plugin's runner vs client): builds argv,
 * working directory and a scrubbed environment, and starts the process as the leader of its
 * own process group so the whole tree can be signalled at once.
 */
import { mkdirSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { PROTOCOL_VERSION } from "@bkg/protocol";
import type { Manifest } from "../registry/index.js";

/** Names that never reach a plugin: the daemon's own settings and anything that looks like a secret. */
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|API_?KEY/i;

export function pluginEnv(m: Manifest, instanceId: string, dataDir: string, daemonEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(daemonEnv)) {
    if (v === undefined || k.startsWith("BKG_") || SECRET_NAME.test(k)) continue;
    env[k] = v;
  }
  Object.assign(env, m.env);
  env.BKG_PLUGIN_NAME = m.name;
  env.BKG_INSTANCE_ID = instanceId;
  env.BKG_DATA_DIR = dataDir;
  env.BKG_PROTOCOL_VERSION = PROTOCOL_VERSION;
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
export function spawnPlugin(m: Manifest, instanceId: string, dataDir: string, daemonEnv: NodeJS.ProcessEnv = process.env): ChildProcess {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const [file, args] = pluginArgv(m);
  return spawn(file, args, {
    cwd: m.cwd,
    env: pluginEnv(m, instanceId, dataDir, daemonEnv),
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
