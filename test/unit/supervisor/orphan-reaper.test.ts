import { spawn } from "node:child_process";
import t from "tap";
import { findMarked, reapInstance, reapPreviousRuns, reapRun } from "../../../src/supervisor/orphan-reaper.js";
import { dataKey } from "../../../src/supervisor/run-marker.js";
import { alive } from "../../helpers/processes.js";

/** A real process in a session of its own, ignoring SIGTERM, carrying `env` (what a setsid'ed grandchild looks like). */
function proc(env: Record<string, string>): number {
  const p = spawn("sh", ["-c", "trap '' TERM; exec sleep 300"], { stdio: "ignore", detached: true, env: { PATH: process.env.PATH, ...env } });
  p.unref();
  return p.pid!;
}

async function waitGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 400 && alive(pid); i++) await new Promise((r) => setTimeout(r, 25));
  return !alive(pid);
}

t.test("without cgroups, the environment mark finds a previous run's setsid'ed processes, and only those of this data folder", async (t) => {
  const key = dataKey(`/tmp/bkg-reaper-test-${process.pid}`);
  const other = dataKey(`/tmp/bkg-reaper-other-${process.pid}`);
  const previous = proc({ BKG_DAEMON_RUN: `${key}.aaaaaaaaaaaa`, BKG_INSTANCE_ID: "p#1" });
  const current = proc({ BKG_DAEMON_RUN: `${key}.bbbbbbbbbbbb`, BKG_INSTANCE_ID: "p#2" });
  const foreign = proc({ BKG_DAEMON_RUN: `${other}.aaaaaaaaaaaa`, BKG_INSTANCE_ID: "p#1" });
  const unmarked = proc({ BKG_INSTANCE_ID: "p#1" });
  const all = [previous, current, foreign, unmarked];
  t.teardown(() => all.forEach((p) => alive(p) && process.kill(p, "SIGKILL")));
  // The spawned shells exec sleep: wait until both carry the mark under their final image.
  for (let i = 0; i < 400 && findMarked(`${key}.`).length < 2; i++) await new Promise((r) => setTimeout(r, 25));
  t.same(
    findMarked(`${key}.`)
      .map((p) => p.pid)
      .sort(),
    [previous, current].sort(),
    "the scan finds both runs of this data folder",
  );
  t.same(
    reapPreviousRuns(key, `${key}.bbbbbbbbbbbb`).map((p) => ({ pid: p.pid, instance: p.instance })),
    [{ pid: previous, instance: "p#1" }],
  );
  t.ok(await waitGone(previous), "the previous run's process is killed");
  t.ok(alive(current) && alive(foreign) && alive(unmarked), "this run's, another folder's and an unmarked process live");

  t.same((await reapInstance(`${key}.bbbbbbbbbbbb`, "p#9")).length, 0, "an instance's reap touches only that instance");
  const sibling = proc({ BKG_DAEMON_RUN: `${key}.bbbbbbbbbbbb`, BKG_INSTANCE_ID: "p#3" });
  all.push(sibling);
  for (let i = 0; i < 400 && !findMarked(`${key}.`).some((p) => p.pid === sibling); i++) await new Promise((r) => setTimeout(r, 25));
  t.same(
    (await reapInstance(`${key}.bbbbbbbbbbbb`, "p#2")).map((p) => p.pid),
    [current],
    "an instance's exit (without a cgroup) kills its own",
  );
  t.ok(await waitGone(current));
  t.same(
    reapRun(`${key}.bbbbbbbbbbbb`).map((p) => p.pid),
    [sibling],
    "the stop path kills the rest of this run's",
  );
  t.ok(await waitGone(sibling));
  t.ok(alive(foreign) && alive(unmarked));
});
