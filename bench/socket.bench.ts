/**
 * Scenario 1: routed calls over the daemon's unix socket to plugins/echo (client -> daemon ->
 * plugin), beside LIMIT-A (this process -> stdio -> a plain vscode-jsonrpc child, no daemon)
 * and LIMIT-C (client -> unix socket -> a plain vscode-jsonrpc relay -> stdio child), and a peer:
 * Moleculer (a broker in this process calling a broker in a child over its TCP transporter, one
 * hop). Same run, same payloads, runs interleaved so drift hits every subject alike.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDirectChild, startRelay } from "./lib/baselines.js";
import { bootDaemon, echoManifest, type BenchDaemon } from "./lib/daemon.js";
import { closedLoop, type LoadResult } from "./lib/load.js";
import { moleculerVersion, startMoleculerTcp, type MoleculerPeer } from "./lib/moleculer-tcp.js";
import { LARGE, SMALL, bytes } from "./lib/payloads.js";
import { monotonicMicros, profileSelf, profilesIn, summarizeProfile, type Window } from "./lib/profile.js";
import { onCleanup } from "./lib/procs.js";
import type { BenchContext, ProfileSummary, Row, Scenario, ScenarioResult, TargetCheck } from "./lib/scenario.js";
import { summarize, type Summary } from "./lib/stats.js";

interface Case {
  label: string;
  payload: unknown;
  inflight: number;
}

interface Subject {
  name: string;
  call(payload: unknown): Promise<unknown>;
  pids: Record<string, number | undefined>;
  /** The role whose CPU is the middle hop (daemon or relay). */
  hop?: string;
}

/** The peer's name in the table: one hop where bkg takes two. */
const MOLECULER = "Moleculer TCP";

export const CASES: Case[] = [
  { label: `${bytes(SMALL)} B, 1 in flight`, payload: SMALL, inflight: 1 },
  { label: `${bytes(SMALL)} B, 64 in flight`, payload: SMALL, inflight: 64 },
  { label: `${(bytes(LARGE) / 1024).toFixed(1)} KB, 64 in flight (pipelined)`, payload: LARGE, inflight: 64 },
];

export const scenario: Scenario = {
  name: "socket",
  title: "1. Socket-routed calls to echo",
  async run(ctx) {
    const durationMs = ctx.quick ? 300 : 3000;
    const warmupMs = ctx.quick ? 100 : 500;
    ctx.log(`socket: starting LIMIT-A child, LIMIT-C relay, two Moleculer brokers and a bkg daemon`);
    const direct = startDirectChild();
    const relay = await startRelay();
    const daemon = await bootDaemon({ manifests: { echo: echoManifest() } });
    let mol: MoleculerPeer | undefined;
    try {
      mol = await startMoleculerTcp();
      await daemon.waitReady(["echo"]);
      const [pluginPid] = await daemon.pluginPids("echo");
      const subjects: Subject[] = [
        { name: "LIMIT-A", call: (p) => direct.connection.sendRequest("echo", p), pids: direct.pids },
        { name: "LIMIT-C", call: (p) => relay.connection.sendRequest("echo", p), pids: relay.pids, hop: "relay" },
        { name: "bkg", call: (p) => daemon.client.call("echo.echo", p as Record<string, unknown>), pids: { daemon: daemon.pid, plugin: pluginPid }, hop: "daemon" },
        { name: MOLECULER, call: mol.call, pids: mol.pids },
      ];
      // Long warm-up once, so every JIT is hot before the first measured run.
      for (const s of subjects) for (const c of CASES) await closedLoop(() => s.call(c.payload), { inflight: c.inflight, durationMs: warmupMs, maxCalls: 200_000 });

      const results = new Map<string, LoadResult[]>();
      const key = (c: Case, s: Subject) => `${c.label}\0${s.name}`;
      for (let run = 0; run < ctx.runs; run++) {
        for (const c of CASES) {
          // Rotate the order each run so no subject always goes first.
          const order = subjects.map((_, i) => subjects[(i + run) % subjects.length]);
          for (const s of order) {
            const r = await closedLoop(() => s.call(c.payload), { inflight: c.inflight, durationMs, warmupMs: ctx.quick ? 50 : 100, maxCalls: 2_000_000, pids: s.pids });
            const list = results.get(key(c, s)) ?? [];
            list.push(r);
            results.set(key(c, s), list);
          }
        }
        ctx.log(`socket: run ${run + 1}/${ctx.runs} done`);
      }

      const rows: Row[] = [];
      const get = (c: Case, name: string) => results.get(key(c, subjects.find((s) => s.name === name)!))!;
      for (const c of CASES) {
        for (const s of subjects) {
          const rs = get(c, s.name);
          const metrics = [
            { label: "calls/s", summary: summarize(rs.map((r) => r.callsPerSec)) },
            { label: "p50 µs", summary: summarize(rs.map((r) => r.p50Us)) },
            { label: "p99 µs", summary: summarize(rs.map((r) => r.p99Us)) },
            { label: "CPU µs/call: client", summary: summarize(rs.map((r) => r.cpuByRole.client)) },
            { label: "hop", summary: summarize(rs.map((r) => (s.hop ? r.cpuByRole[s.hop] : NaN))) },
            { label: "echo", summary: summarize(rs.map((r) => r.cpuByRole.plugin ?? r.cpuByRole.child)) },
            { label: "all", summary: summarize(rs.map((r) => r.cpuUsPerCall)) },
            { label: "cores busy", summary: summarize(rs.map((r) => (r.callsPerSec * r.cpuUsPerCall) / 1e6)), digits: 2 },
            { label: "errors", summary: summarize(rs.map((r) => r.errors)) },
          ];
          let vs: string | undefined;
          if (s.name !== "LIMIT-A") {
            const parts = [`${perRun(rs, get(c, "LIMIT-A"), "callsPerSec").median.toFixed(2)}x LIMIT-A`];
            if (s.name === "bkg") {
              parts.push(`${perRun(rs, get(c, "LIMIT-C"), "callsPerSec").median.toFixed(2)}x LIMIT-C`);
              parts.push(`${perRun(rs, get(c, MOLECULER), "callsPerSec").median.toFixed(2)}x ${MOLECULER}`);
            }
            vs = `calls/s ${parts.join(", ")}`;
          }
          rows.push({ case: c.label, subject: s.name, metrics, vs });
        }
      }

      const targets = checkTargets(get(CASES[1], "bkg"), get(CASES[1], "LIMIT-A"), get(CASES[1], "LIMIT-C"), get(CASES[0], "bkg"), get(CASES[0], "LIMIT-C"));
      targets.push(vsMoleculer(get(CASES[1], "bkg"), get(CASES[1], MOLECULER)));
      const notes = [
        `Payloads: ${bytes(SMALL)} B and ${bytes(LARGE)} B JSON objects, echoed back. ${ctx.runs} runs of ${durationMs} ms per case and subject (after ${warmupMs} ms warm-up per case, and ${ctx.quick ? 50 : 100} ms before each run), interleaved.`,
        "Ratios are medians of per-run ratios (each run's bkg against the same run's baseline).",
        "CPU µs per call, by process: client (the load generator, this process), hop (the daemon or the relay), echo (the plugin or the child), and all of them. /proc CPU times have 10 ms resolution. A single-threaded hop cannot exceed 1,000,000 / (its CPU µs per call) calls/s. Cores busy = calls/s × all CPU per call: how much of the machine's 2 cores the path kept busy (2.00 = saturated).",
        'bkg uses its own client (import { connect } from "bkg"); the baselines use vscode-jsonrpc\'s StreamMessageReader/Writer on both ends.',
        `${MOLECULER}: moleculer ${moleculerVersion()}, a ServiceBroker in this process calls echo.echo on a ServiceBroker in a child process over the TCP transporter (JSON serializer, static urls, no UDP discovery): one hop, two processes, the action runs inside the serving broker; its client column is the calling broker, its echo column the serving one.`,
      ];
      const failed = [...results.values()].flat().find((r) => r.errors > 0);
      if (failed) notes.push(`Some calls failed: ${failed.firstError}`);

      let profiles: ProfileSummary[] | undefined;
      if (ctx.profile) profiles = await profileSocket(ctx, durationMs);
      return { available: true, rows, targets, notes, profiles } satisfies ScenarioResult;
    } finally {
      await mol?.close();
      await daemon.stop();
      await relay.close();
      await direct.close();
    }
  },
};

/** Median and spread of per-run ratios a[i].field / b[i].field. */
function perRun(a: LoadResult[], b: LoadResult[], field: "callsPerSec" | "p50Us"): Summary {
  return summarize(a.map((r, i) => r[field] / b[i][field]));
}

function checkTargets(bkg64: LoadResult[], a64: LoadResult[], c64: LoadResult[], bkg1: LoadResult[], c1: LoadResult[]): TargetCheck[] {
  const vsA = perRun(bkg64, a64, "callsPerSec");
  const vsC = perRun(bkg64, c64, "callsPerSec");
  const p50 = perRun(bkg1, c1, "p50Us");
  const med = (rs: LoadResult[], f: "callsPerSec" | "p50Us") => summarize(rs.map((r) => r[f])).median;
  return [
    {
      target: "64 in flight, small: calls/s at least LIMIT-A's",
      met: vsA.median >= 1,
      detail: `bkg ${fmt(med(bkg64, "callsPerSec"))}/s vs LIMIT-A ${fmt(med(a64, "callsPerSec"))}/s: ${vsA.median.toFixed(2)}x (runs ${vsA.min.toFixed(2)}–${vsA.max.toFixed(2)})${vsA.median >= 1 ? "" : `; gap ${((1 / vsA.median - 1) * 100).toFixed(0)}% more throughput needed`}`,
    },
    {
      target: "64 in flight, small: calls/s at least 1.5x LIMIT-C's",
      met: vsC.median >= 1.5,
      detail: `bkg ${fmt(med(bkg64, "callsPerSec"))}/s vs LIMIT-C ${fmt(med(c64, "callsPerSec"))}/s: ${vsC.median.toFixed(2)}x (runs ${vsC.min.toFixed(2)}–${vsC.max.toFixed(2)})${vsC.median >= 1.5 ? "" : `; gap ${((1.5 / vsC.median - 1) * 100).toFixed(0)}% more throughput needed`}`,
    },
    {
      target: "1 in flight: p50 at most LIMIT-C's",
      met: p50.median <= 1,
      detail: `bkg p50 ${med(bkg1, "p50Us").toFixed(0)} µs vs LIMIT-C ${med(c1, "p50Us").toFixed(0)} µs: ${p50.median.toFixed(2)}x (runs ${p50.min.toFixed(2)}–${p50.max.toFixed(2)})${p50.median <= 1 ? "" : `; gap ${(med(bkg1, "p50Us") - med(c1, "p50Us")).toFixed(0)} µs`}`,
    },
  ];
}

/** The issue's moonshot: two hops (client -> daemon -> plugin) as fast as Moleculer's one. */
function vsMoleculer(bkg64: LoadResult[], mol64: LoadResult[]): TargetCheck {
  const r = perRun(bkg64, mol64, "callsPerSec");
  const med = (rs: LoadResult[]) => summarize(rs.map((x) => x.callsPerSec)).median;
  const cpu = (rs: LoadResult[]) => summarize(rs.map((x) => x.cpuUsPerCall)).median;
  return {
    target: `64 in flight, small: calls/s at least ${MOLECULER}'s (its one hop against bkg's two)`,
    met: r.median >= 1,
    detail: `bkg ${fmt(med(bkg64))}/s vs ${MOLECULER} ${fmt(med(mol64))}/s: ${r.median.toFixed(2)}x (runs ${r.min.toFixed(2)}–${r.max.toFixed(2)}); CPU per call, all processes: bkg ${cpu(bkg64).toFixed(0)} µs, ${MOLECULER} ${cpu(mol64).toFixed(0)} µs${r.median >= 1 ? "" : `; gap ${((1 / r.median - 1) * 100).toFixed(0)}% more throughput needed`}`,
  };
}

/**
 * A separate, unmeasured pass with the V8 profiler on: the daemon and the echo plugin run with
 * --cpu-prof (the plugin through its manifest's command), the client is profiled in-process.
 * Only samples inside the load window count.
 */
async function profileSocket(ctx: BenchContext, durationMs: number): Promise<ProfileSummary[]> {
  const dir = mkdtempSync(join(tmpdir(), "bkg-bench-prof-"));
  const removeDir = onCleanup(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const out: ProfileSummary[] = [];
  const windows = new Map<Case, Window>();
  let daemon: BenchDaemon | undefined;
  try {
    ctx.log("socket: profiling pass (--cpu-prof on daemon and plugin)");
    const prof = ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=200"];
    daemon = await bootDaemon({ manifests: { echo: echoManifest("echo", { command: ["node", ...prof, "dist/index.js"] }) }, nodeArgs: prof });
    await daemon.waitReady(["echo"]);
    const [pluginPid] = await daemon.pluginPids("echo");
    const d = daemon;
    for (const c of [CASES[1], CASES[0]]) {
      const call = () => d.client.call("echo.echo", c.payload as Record<string, unknown>);
      await closedLoop(call, { inflight: c.inflight, durationMs: 500, maxCalls: 200_000 });
      const from = monotonicMicros();
      const { profile } = await profileSelf(() => closedLoop(call, { inflight: c.inflight, durationMs: Math.max(durationMs, 2000), maxCalls: 2_000_000 }));
      const to = monotonicMicros();
      windows.set(c, { fromUs: from, toUs: to });
      out.push(summarizeProfile(profile, "client (bkg connect)", c.label));
    }
    await daemon.stop(); // graceful: the daemon and the plugin write their profiles on exit
    daemon = undefined;
    for (const p of profilesIn(dir)) {
      const role = p.pid === pluginPid ? "echo plugin (SDK)" : "daemon";
      for (const c of [CASES[1], CASES[0]]) {
        const w = windows.get(c);
        if (w) out.push(summarizeProfile(p.profile, role, c.label, w));
      }
    }
  } catch (e) {
    ctx.log(`socket: profiling failed: ${(e as Error).message}`);
  } finally {
    await daemon?.stop();
    await removeDir();
  }
  out.push(...(await profileMoleculer(ctx, durationMs)));
  return out;
}

/** The same pass for the Moleculer peer: the serving broker with --cpu-prof, the calling one in-process. */
async function profileMoleculer(ctx: BenchContext, durationMs: number): Promise<ProfileSummary[]> {
  const dir = mkdtempSync(join(tmpdir(), "bkg-bench-prof-mol-"));
  const removeDir = onCleanup(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const out: ProfileSummary[] = [];
  const windows = new Map<Case, Window>();
  let mol: MoleculerPeer | undefined;
  try {
    ctx.log(`socket: profiling pass for ${MOLECULER}`);
    mol = await startMoleculerTcp(["--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=200"]);
    const m = mol;
    for (const c of [CASES[1], CASES[0]]) {
      const call = () => m.call(c.payload);
      await closedLoop(call, { inflight: c.inflight, durationMs: 500, maxCalls: 200_000 });
      const from = monotonicMicros();
      const { profile } = await profileSelf(() => closedLoop(call, { inflight: c.inflight, durationMs: Math.max(durationMs, 2000), maxCalls: 2_000_000 }));
      windows.set(c, { fromUs: from, toUs: monotonicMicros() });
      out.push(summarizeProfile(profile, `${MOLECULER}: calling broker`, c.label));
    }
    await mol.close(); // SIGTERM: the serving broker stops and writes its profile on exit
    mol = undefined;
    for (const p of profilesIn(dir)) {
      for (const c of [CASES[1], CASES[0]]) {
        const w = windows.get(c);
        if (w) out.push(summarizeProfile(p.profile, `${MOLECULER}: serving broker`, c.label, w));
      }
    }
  } catch (e) {
    ctx.log(`socket: profiling ${MOLECULER} failed: ${(e as Error).message}`);
  } finally {
    await mol?.close();
    await removeDir();
  }
  return out;
}

const fmt = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
