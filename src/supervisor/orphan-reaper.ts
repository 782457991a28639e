/**
 * The last line against orphans. Plugins exit when their stdin closes (every SDK does), so a
 * daemon killed with SIGKILL takes its plugins with it; but a plugin's own children may not
 * notice. Each instance records its process group in <dataDir>/run/; the group file is removed
 * when the instance is reaped. A daemon starting up kills every group still recorded whose
 * members carry the instance id bkg gave them, so nothing outlives two daemon lifetimes.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sampleGroups } from "./process-sampler.js";

export function rememberGroup(runDir: string, pgid: number, instanceId: string): void {
  try {
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(runDir, `${pgid}.pgid`), instanceId, { mode: 0o600 });
  } catch {
    /* best effort: reaping is a safety net */
  }
}

export function forgetGroup(runDir: string, pgid: number): void {
  rmSync(join(runDir, `${pgid}.pgid`), { force: true });
}

/** Kills the leftover groups of a previous daemon. Returns what it killed, for the log. */
export function reapLeftovers(runDir: string): { pgid: number; instance: string; pids: number[] }[] {
  let files: string[];
  try {
    files = readdirSync(runDir).filter((f) => f.endsWith(".pgid"));
  } catch {
    return [];
  }
  const recorded = new Map(files.map((f) => [Number(f.slice(0, -5)), readFileSync(join(runDir, f), "utf8").trim()]));
  const live = sampleGroups(new Set(recorded.keys()));
  const killed: { pgid: number; instance: string; pids: number[] }[] = [];
  for (const [pgid, instance] of recorded) {
    const members = live.get(pgid)?.pids.filter((pid) => carries(pid, instance)) ?? [];
    if (members.length) {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        for (const pid of members) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            /* gone */
          }
        }
      }
      killed.push({ pgid, instance, pids: members });
    }
    forgetGroup(runDir, pgid);
  }
  return killed;
}

/** Does the process carry BKG_INSTANCE_ID=<instance> in its environment? Guards against pid reuse. */
function carries(pid: number, instance: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(`BKG_INSTANCE_ID=${instance}`);
  } catch {
    return false;
  }
}
