/**
 * Profiles a daemon while a load runs: boots it with --cpu-prof into a temp folder, runs the
 * load, stops the daemon gracefully (it writes the profile on exit) and summarises the samples
 * that fall inside the load window. Unmeasured: profiling slows everything down.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monotonicMicros, profilesIn, summarizeProfile } from "./profile.js";
import { onCleanup } from "./procs.js";
import type { ProfileSummary } from "./scenario.js";

export const cpuProfArgs = (dir: string) => ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=200"];

/**
 * `boot` gets the node flags to start the daemon with and returns its pid and a stop function;
 * `load` runs once the daemon is up. Returns [] (and logs) when anything fails.
 */
export async function profileDaemon(
  label: string,
  log: (msg: string) => void,
  boot: (nodeArgs: string[]) => Promise<{ pid: number; stop(): Promise<void> } | undefined>,
  load: () => Promise<unknown>,
): Promise<ProfileSummary[]> {
  const dir = mkdtempSync(join(tmpdir(), "bkg-bench-prof-"));
  const removeDir = onCleanup(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  try {
    log(`profiling: ${label}`);
    const d = await boot(cpuProfArgs(dir));
    if (!d) return [];
    let window = { fromUs: 0, toUs: 0 };
    try {
      const fromUs = monotonicMicros();
      await load();
      window = { fromUs, toUs: monotonicMicros() };
    } finally {
      await d.stop();
    }
    return profilesIn(dir)
      .filter((p) => p.pid === d.pid)
      .map((p) => summarizeProfile(p.profile, "daemon", label, window));
  } catch (e) {
    log(`profiling ${label} failed: ${(e as Error).message}`);
    return [];
  } finally {
    await removeDir();
  }
}
