/**
 * What tracing costs a cross-node call (issue 17): two pairs of daemons on one nats-server, one
 * pair with tracing on (the default: every call sampled), one with it off, each pair a -> b with
 * the echo plugin only on b. Closed loops from this process (the client) at 64 in flight,
 * alternating between the pairs (which one goes first alternates too), reading every process's
 * CPU from /proc: the CPU per call of each pair, and the on/off ratio of each run.
 * With --prof DIR the tracing-on daemons run with --cpu-prof and summarise their self time.
 * With --before ROOT both pairs trace, and the "off" pair runs another build (ROOT/bin/bkg, e.g.
 * the commit before a change, built): a paired before/after of the same traced path.
 *
 *   npx tsc -b && npx tsc -p bench/tsconfig.json
 *   node bench/dist/tools/cluster-tracing.js [--runs 6] [--seconds 3] [--inflight 64] [--warmup 3] [--control | --before ROOT] [--swap] [--out FILE] [--prof DIR]
 */
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { bootDaemon, echoManifest, type BenchDaemon } from "../lib/daemon.js";
import { closedLoop, type LoadResult } from "../lib/load.js";
import { SMALL } from "../lib/payloads.js";
import { argValue as opt } from "../lib/argv.js";
import { startNatsServer } from "../lib/nats-server.js";
import { cleanupAll, waitFor } from "../lib/procs.js";
import { median } from "../lib/stats.js";
import { cpuProfArgs } from "../lib/profile-daemon.js";
import { monotonicMicros, profilesIn, summarizeProfile, type Window } from "../lib/profile.js";

const args = process.argv.slice(2);
const RUNS = Number(opt("--runs") ?? 6);
const SECONDS = Number(opt("--seconds") ?? 3);
const INFLIGHT = Number(opt("--inflight") ?? 64);
const OUT = opt("--out");
const PROF = opt("--prof");
/** A/A control: the "on" pair runs with tracing off too (how far apart two like pairs measure). */
const CONTROL = args.includes("--control");
const BEFORE = opt("--before");
/** Boot the "off" pair first (the pair booted first measured a few % higher in --control runs). */
const SWAP = args.includes("--swap");
/** Each pair's loop before the measured runs: the first runs after boot were still JIT-compiling (1 s was not enough). */
const WARMUP_SECONDS = Number(opt("--warmup") ?? 3);

interface Pair {
  name: "on" | "off";
  a: BenchDaemon;
  b: BenchDaemon;
  plugin: number;
}

async function bootPair(name: "on" | "off", url: string): Promise<Pair> {
  const config = (nodeId: string) => ({
    storage: { nodeId },
    telemetry: { enabled: false, tracing: { enabled: BEFORE !== undefined || (name === "on" && !CONTROL) } },
    cluster: { nats: { servers: [url] } },
  });
  const nodeArgs = PROF && name === "on" ? cpuProfArgs(PROF) : undefined;
  const bin = BEFORE && name === "off" ? join(BEFORE, "bin", "bkg") : undefined;
  const b = await bootDaemon({ manifests: { echo: echoManifest() }, config: config(`${name}-b`), nodeArgs, bin });
  const a = await bootDaemon({ manifests: {}, config: config(`${name}-a`), nodeArgs, bin });
  await b.waitReady(["echo"]);
  await waitFor(async () => (await a.client.cluster.plugins()).some((p) => p.node === `${name}-b` && p.name === "echo" && p.ready), `node ${name}-a to see echo`, 20_000);
  const [plugin] = await b.pluginPids("echo");
  return { name, a, b, plugin };
}

async function measure(p: Pair, nats: number, durationMs: number): Promise<LoadResult> {
  return closedLoop(() => p.a.client.call("echo.echo", SMALL), {
    inflight: INFLIGHT,
    durationMs,
    maxCalls: 5_000_000,
    countSelf: true,
    pids: { a: p.a.pid, b: p.b.pid, plugin: p.plugin, nats },
  });
}

async function main(): Promise<void> {
  const load0 = loadavg()[0];
  const natsServer = await startNatsServer();
  const url = natsServer.url;
  const pairs = SWAP ? [await bootPair("off", url), await bootPair("on", url)].reverse() : [await bootPair("on", url), await bootPair("off", url)];
  const nats = natsServer.pid;
  for (const p of pairs) await measure(p, nats, WARMUP_SECONDS * 1000);
  const results: Record<string, LoadResult[]> = { on: [], off: [] };
  const windows: Window[] = [];
  for (let r = 0; r < RUNS; r++) {
    const order = r % 2 === 0 ? pairs : [...pairs].reverse();
    for (const p of order) {
      const fromUs = monotonicMicros();
      const res = await measure(p, nats, SECONDS * 1000);
      if (p.name === "on") windows.push({ fromUs, toUs: monotonicMicros() });
      results[p.name].push(res);
      const roles = Object.entries(res.cpuByRole)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(", ");
      console.log(`run ${r} ${p.name.padEnd(3)} ${res.callsPerSec.toFixed(0)} calls/s, CPU ${res.cpuUsPerCall.toFixed(1)} µs/call (${roles}), errors ${res.errors}`);
    }
  }
  const ratios = results.on.map((on, i) => on.cpuUsPerCall / results.off[i].cpuUsPerCall);
  const daemonsOf = (x: LoadResult) => (x.cpuByRole.a ?? 0) + (x.cpuByRole.b ?? 0);
  const daemonRatios = results.on.map((on, i) => daemonsOf(on) / daemonsOf(results.off[i]));
  const roleMedians = (xs: LoadResult[]) => Object.fromEntries(Object.keys(xs[0].cpuByRole).map((k) => [k, median(xs.map((x) => x.cpuByRole[k]))]));
  const summary = {
    when: new Date().toISOString(),
    control: CONTROL,
    before: BEFORE,
    swap: SWAP,
    loadavg: [load0, loadavg()[0]],
    runs: RUNS,
    seconds: SECONDS,
    inflight: INFLIGHT,
    cpuUsPerCall: { on: median(results.on.map((x) => x.cpuUsPerCall)), off: median(results.off.map((x) => x.cpuUsPerCall)) },
    byRole: { on: roleMedians(results.on), off: roleMedians(results.off) },
    ratioOnOff: { median: median(ratios), runs: ratios },
    daemonsRatioOnOff: { median: median(daemonRatios), runs: daemonRatios },
    results,
  };
  console.log(
    `on/off CPU per call: median ${summary.ratioOnOff.median.toFixed(3)} (runs ${ratios.map((x) => x.toFixed(2)).join(" ")}); daemons a+b only: ${summary.daemonsRatioOnOff.median.toFixed(3)}; load ${summary.loadavg.map((x) => x.toFixed(1)).join(" -> ")}`,
  );
  console.log(`by role (median µs/call): on ${JSON.stringify(summary.byRole.on)}; off ${JSON.stringify(summary.byRole.off)}`);
  const on = pairs[0];
  for (const p of pairs) {
    await p.a.stop();
    await p.b.stop();
  }
  if (PROF) {
    const roles = new Map([
      [on.a.pid, "daemon a (tracing on)"],
      [on.b.pid, "daemon b (tracing on)"],
    ]);
    const window = { fromUs: Math.min(...windows.map((w) => w.fromUs)), toUs: Math.max(...windows.map((w) => w.toUs)) };
    for (const prof of profilesIn(PROF)) {
      const role = roles.get(prof.pid);
      if (!role) continue;
      const s = summarizeProfile(prof.profile, role, `${INFLIGHT} in flight`, window, 30);
      console.log(`\n${role}: ${s.totalMs.toFixed(0)} ms of samples`);
      for (const t of s.top) console.log(`  ${t.selfPct.toFixed(1).padStart(5)}%  ${t.fn}  ${t.where}`);
      for (const t of (s.inclusive ?? []).filter((x) => /trac|span|Span|Trace/.test(`${x.fn} ${x.where}`))) console.log(`  incl ${t.totalPct.toFixed(1).padStart(5)}%  ${t.fn}  ${t.where}`);
    }
  }
  if (OUT) writeFileSync(OUT, `${JSON.stringify(summary, null, 2)}\n`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
