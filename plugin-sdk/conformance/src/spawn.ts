/**
 * Starting a plugin the way the daemon does (docs/protocol.md §6): the runner's environment
 * minus its secrets, plus the caller's extra variables, plus the BKG_* variables; the child
 * leads its own process group so that stopping it stops everything it started.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { PROTOCOL_VERSION } from "@bkg/protocol";

export interface PluginCommand {
  /** argv: the executable and its arguments, e.g. ["python3", "plugin.py"]. */
  command: string[];
  /** Working directory of the plugin; the runner's own by default. */
  cwd?: string;
  /** Extra environment variables for the plugin (an undefined value removes one). */
  env?: Record<string, string | undefined>;
}

export interface Instance {
  name: string;
  instanceId: string;
  dataDir: string;
}

const SECRET = /SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|API_KEY/i;

export function pluginEnv(spec: PluginCommand, inst: Instance): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("BKG_") || SECRET.test(k)) continue;
    env[k] = v;
  }
  for (const [k, v] of Object.entries(spec.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  env.BKG_PLUGIN_NAME = inst.name;
  env.BKG_INSTANCE_ID = inst.instanceId;
  env.BKG_DATA_DIR = inst.dataDir;
  env.BKG_PROTOCOL_VERSION = PROTOCOL_VERSION;
  return env;
}

export function spawnPlugin(spec: PluginCommand, inst: Instance): ChildProcessWithoutNullStreams {
  if (spec.command.length === 0) throw new Error('no plugin command given: expected an argv array such as ["node", "plugin.js"]');
  const [file, ...args] = spec.command;
  return spawn(file, args, {
    cwd: spec.cwd,
    env: pluginEnv(spec, inst),
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
    windowsHide: true,
  });
}

/** SIGKILLs the child's whole process group (or the child alone where groups do not exist). */
export function killTree(child: ChildProcessWithoutNullStreams): void {
  if (child.pid === undefined) return;
  try {
    if (process.platform === "win32") child.kill("SIGKILL");
    else process.kill(-child.pid, "SIGKILL");
  } catch {
    try {
      child.kill("SIGKILL");
    } catch {
      /* already gone */
    }
  }
}
