/**
 * What tracing costs (issue 18). Socket calls (echo.echo, 64 in flight) on three
 * daemons side by side: tracing off (telemetry.tracing.enabled false: the router records nothing
 * and passes a caller's traceparent on as it came), 10% sampling and 100% sampling; runs
 * interleaved. No OTLP collector: this measures the spans, ids and ring buffer, what every call
 * pays. Targets: under 3% of throughput at 10%, under 8% at 100%.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type * as Tracing from "../dist/tracing/index.js";
import { bootDaemon, echoManifest, type BenchDaemon } from "./lib/daemon.js";
import { closedLoop, interleaved } from "./lib/load.js";
import { ROOT } from "./lib/paths.js";
import { SMALL } from "./lib/payloads.js";
import type { Scenario } from "./lib/scenario.js";
import { summarize } from "./lib/stats.js";

const SUBJECTS = [
  { name: "tracing off", tracing: { enabled: false } },
  { name: "10% sampled", tracing: { enabled: true, sampleRatio: 0.1 } },
  { name: "100% sampled", tracing: { enabled: true, sampleRatio: 1 } },
] as const;
const TARGETS: Record<string, number> = { "10% sampled": 3, "100% sampled": 8 };

/**
 * The tracer's own CPU per call, in this process: begin + end (ids, span, ring buffer of 1000
 * traces) and the extra _meta.traceparent each call carries to the plugin (serialized here and
 * parsed there). A steadier figure than the end-to-end ratio on a loaded machine: the work
 * tracing adds to a call, without the noise of three processes sharing two cores.
 */
async function tracerMicros(ratio: number, calls: number): Promise<number> {
  const { Tracer } = (await import(pathToFileURL(join(ROOT, "dist", "tracing", "index.js")).href)) as typeof Tracing;
  const tracer = new Tracer({ sampleRatio: ratio, bufferTraces: 1000, spansPerTrace: 200 }, "bench");
  const deadline = Date.now();
  let sink = 0;
  // The same _meta the router builds, with and without the traceparent it adds in place.
  const t1 = process.cpuUsage();
  for (let i = 0; i < calls; i++) sink += JSON.parse(JSON.stringify({ deadline, caller: "client:1", callId: "17" })).caller.length;
  const base = process.cpuUsage(t1);
  const t0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) {
    const s = tracer.begin(undefined, "echo.echo", "client:1");
    const meta: Record<string, unknown> = { deadline, caller: "client:1", callId: "17" };
    meta.traceparent = typeof s === "string" ? s : s.traceparent;
    sink += JSON.parse(JSON.stringify(meta)).caller.length;
    if (typeof s !== "string") {
      s.instance = "echo#1@4242";
      tracer.end(s, 0);
    }
  }
  const u = process.cpuUsage(t0);
  if (sink < 0) throw new Error("unreachable");
  return (u.user + u.system - (base.user + base.system)) / calls;
}

export const scenario: Scenario = {
  name: "tracing",
  title: "Tracing: off vs 10% vs 100% sampled",
  async run(ctx) {
    const daemons: BenchDaemon[] = [];
    try {
      const subjects: { name: string; d: BenchDaemon; pids: { daemon: number; plugin: number } }[] = [];
      for (const s of SUBJECTS) {
        const d = await bootDaemon({ manifests: { echo: echoManifest() }, config: { telemetry: { tracing: s.tracing } } });
        daemons.push(d);
        await d.waitReady(["echo"]);
        const [plugin] = await d.pluginPids("echo");
        subjects.push({ name: s.name, d, pids: { daemon: d.pid, plugin } });
      }
      const durationMs = ctx.quick ? 500 : 3000;
      for (const s of subjects) await closedLoop(() => s.d.client.call("echo.echo", SMALL), { inflight: 64, durationMs: 500, maxCalls: 500_000 });
      const runs = ctx.quick ? 2 : ctx.runs;
      const res = await interleaved(
        subjects,
        runs,
        (s) => closedLoop(() => s.d.client.call("echo.echo", SMALL), { inflight: 64, durationMs, warmupMs: 100, maxCalls: 2_000_000, pids: s.pids }),
        (r) => ctx.log(`tracing: run ${r + 1}/${runs}`),
      );
      // The tracer alone, in-process, interleaved the same way.
      const micro = new Map<string, number[]>([
        ["10% sampled", []],
        ["100% sampled", []],
      ]);
      for (let r = 0; r < runs; r++) {
        micro.get("10% sampled")!.push(await tracerMicros(0.1, 200_000));
        micro.get("100% sampled")!.push(await tracerMicros(1, 200_000));
      }
      const off = res.get("tracing off")!;
      const offCpu = summarize(off.map((x) => x.cpuUsPerCall)).median;
      const vsOff = (name: string) => {
        const rs = res.get(name)!;
        const tput = summarize(rs.map((x, i) => x.callsPerSec / off[i].callsPerSec));
        const cpu = summarize(rs.map((x, i) => x.cpuUsPerCall / off[i].cpuUsPerCall));
        // CPU-bound, throughput goes as 1 / CPU per call: the CPU ratio is the steadier estimate.
        return { tput, cpu, cost: (1 - 1 / cpu.median) * 100 };
      };
      return {
        available: true,
        rows: [
          ...subjects.map((s) => {
            const rs = res.get(s.name)!;
            const v = s.name === "tracing off" ? undefined : vsOff(s.name);
            return {
              case: "socket, 64 in flight",
              subject: s.name,
              metrics: [
                { label: "calls/s", summary: summarize(rs.map((x) => x.callsPerSec)) },
                { label: "CPU µs/call (all)", summary: summarize(rs.map((x) => x.cpuUsPerCall)) },
                { label: "CPU µs/call (daemon)", summary: summarize(rs.map((x) => x.cpuByRole.daemon)) },
              ],
              vs: v ? `calls/s ${v.tput.median.toFixed(3)}x off, CPU/call ${v.cpu.median.toFixed(3)}x off` : undefined,
            };
          }),
          ...[...micro].map(([name, us]) => {
            const m = summarize(us);
            return {
              case: "tracer alone, in-process",
              subject: name,
              metrics: [{ label: "CPU µs/call", summary: m, digits: 2 }],
              vs: `${((m.median / offCpu) * 100).toFixed(1)}% of the CPU per call with tracing off (${offCpu.toFixed(0)} µs)`,
            };
          }),
        ],
        targets: Object.entries(TARGETS).map(([name, limit]) => {
          const v = vsOff(name);
          const share = (summarize(micro.get(name)!).median / offCpu) * 100;
          return {
            target: `tracing at ${name} costs under ${limit}% of throughput`,
            met: v.cost < limit,
            detail: `CPU per call vs off = ${v.cpu.median.toFixed(3)} (runs ${v.cpu.min.toFixed(3)}–${v.cpu.max.toFixed(3)}): ${v.cost <= 0 ? "no measurable cost" : `cost ${v.cost.toFixed(1)}% of throughput`}${v.cost < limit ? "" : `; gap ${(v.cost - limit).toFixed(1)} points`}; measured calls/s vs off = ${v.tput.median.toFixed(3)} (runs ${v.tput.min.toFixed(3)}–${v.tput.max.toFixed(3)}); the tracer alone, in-process: ${share.toFixed(1)}% of the CPU per call`,
          };
        }),
        notes: [
          `Three daemons side by side (telemetry.tracing off / sampleRatio 0.1 / 1), ${runs} interleaved runs of ${durationMs} ms, no OTLP collector; ratios are medians of per-run ratios. "Tracer alone" runs the tracer's begin/end (with the ring buffer) and the extra _meta field's JSON round trip 200,000 times in the bench process, minus the same loop without tracing, as a share of the end-to-end CPU per call with tracing off: the steadier figure when the machine is loaded. The verdict uses CPU per call (client + daemon + plugin): with both cores busy, throughput is its inverse, and it is far steadier than calls/s on a shared machine.`,
        ],
      };
    } finally {
      for (const d of daemons) await d.stop();
    }
  },
};
