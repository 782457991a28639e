/**
 * The cluster scenario's profiling pass (full runs, or --profile): two more daemons on the same
 * nats-server, both with --cpu-prof, and a cross-node load from the first to an echo plugin on
 * the second. Unmeasured (profiling slows everything down); only samples inside each load
 * window count. Shows where daemon a (forwarding) and daemon b (serving from NATS) spend a call.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootDaemon, echoManifest, type BenchDaemon } from "./daemon.js";
import { closedLoop } from "./load.js";
import { cpuProfArgs } from "./profile-daemon.js";
import { monotonicMicros, profilesIn, summarizeProfile, type Window } from "./profile.js";
import { onCleanup, waitFor } from "./procs.js";
import type { BenchContext, ProfileSummary } from "./scenario.js";

export async function profileCrossNode(
  ctx: BenchContext,
  natsUrl: string,
  cases: { label: string; inflight: number }[],
  params: Record<string, unknown>,
  durationMs: number,
): Promise<ProfileSummary[]> {
  const dir = mkdtempSync(join(tmpdir(), "bkg-bench-prof-"));
  const removeDir = onCleanup(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const cluster = (nodeId: string) => ({ storage: { nodeId }, telemetry: { enabled: false }, cluster: { nats: { servers: [natsUrl] } } });
  const out: ProfileSummary[] = [];
  let a: BenchDaemon | undefined;
  let b: BenchDaemon | undefined;
  try {
    ctx.log("cluster: profiling pass (--cpu-prof on both daemons)");
    b = await bootDaemon({ manifests: { echo: echoManifest() }, config: cluster("prof-b"), nodeArgs: cpuProfArgs(dir) });
    a = await bootDaemon({ manifests: {}, config: cluster("prof-a"), nodeArgs: cpuProfArgs(dir) });
    await b.waitReady(["echo"]);
    const from = a;
    await waitFor(async () => (await from.client.cluster.plugins()).some((p) => p.node === "prof-b" && p.name === "echo" && p.ready), "node prof-a to see echo on prof-b", 20_000);
    const call = () => from.client.call("echo.echo", params);
    const windows = new Map<string, Window>();
    for (const c of cases) {
      await closedLoop(call, { inflight: c.inflight, durationMs: 500, maxCalls: 200_000 });
      const fromUs = monotonicMicros();
      await closedLoop(call, { inflight: c.inflight, durationMs: Math.max(durationMs, 2000), maxCalls: 2_000_000 });
      windows.set(c.label, { fromUs, toUs: monotonicMicros() });
    }
    const roles = new Map([
      [a.pid, "daemon a (forwards over NATS)"],
      [b.pid, "daemon b (serves from NATS)"],
    ]);
    // Graceful stops: each daemon writes its profile on exit.
    await a.stop();
    await b.stop();
    for (const p of profilesIn(dir)) {
      const role = roles.get(p.pid);
      if (!role) continue;
      for (const c of cases) out.push(summarizeProfile(p.profile, role, c.label, windows.get(c.label)));
    }
  } catch (e) {
    ctx.log(`cluster: profiling failed: ${(e as Error).message}`);
  } finally {
    await a?.stop();
    await b?.stop();
    await removeDir();
  }
  return out;
}
