/**
 * What tracing costs (issue 18). Socket calls (echo.echo, 64 in flight) on three
 * daemons side by side: tracing off (telemetry.tracing.enabled false: the router records nothing
 * and passes a caller's traceparent on as it came), 10% sampling and 100% sampling; runs
 * interleaved. No OTLP collector: this measures the spans, ids and ring buffer, what every call
 * pays. Targets: under 3% of throughput at 10%, under 8% at 100%.
 */
import { bootDaemon, echoManifest, type BenchDaemon } from "./lib/daemon.js";
import { closedLoop, type LoadResult } from "./lib/load.js";
import { SMALL } from "./lib/payloads.js";
import type { Scenario } from "./lib/scenario.js";
import { summarize } from "./lib/stats.js";

const SUBJECTS = [
  { name: "tracing off", tracing: { enabled: false } },
  { name: "10% sampled", tracing: { enabled: true, sampleRatio: 0.1 } },
  { name: "100% sampled", tracing: { enabled: true, sampleRatio: 1 } },
] as const;
const TARGETS: Record<string, number> = { "10% sampled": 3, "100% sampled": 8 };

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
      const res = new Map<string, LoadResult[]>(subjects.map((s) => [s.name, []]));
      const runs = ctx.quick ? 2 : ctx.runs;
      for (let r = 0; r < runs; r++) {
        for (let j = 0; j < subjects.length; j++) {
          const s = subjects[(r + j) % subjects.length];
          res.get(s.name)!.push(await closedLoop(() => s.d.client.call("echo.echo", SMALL), { inflight: 64, durationMs, warmupMs: 100, maxCalls: 2_000_000, pids: s.pids }));
        }
        ctx.log(`tracing: run ${r + 1}/${runs}`);
      }
      const off = res.get("tracing off")!;
      const vsOff = (name: string) => {
        const rs = res.get(name)!;
        const tput = summarize(rs.map((x, i) => x.callsPerSec / off[i].callsPerSec));
        const cpu = summarize(rs.map((x, i) => x.cpuUsPerCall / off[i].cpuUsPerCall));
        // CPU-bound, throughput goes as 1 / CPU per call: the CPU ratio is the steadier estimate.
        return { tput, cpu, cost: (1 - 1 / cpu.median) * 100 };
      };
      return {
        available: true,
        rows: subjects.map((s) => {
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
        targets: Object.entries(TARGETS).map(([name, limit]) => {
          const v = vsOff(name);
          return {
            target: `tracing at ${name} costs under ${limit}% of throughput`,
            met: v.cost < limit,
            detail: `CPU per call vs off = ${v.cpu.median.toFixed(3)} (runs ${v.cpu.min.toFixed(3)}–${v.cpu.max.toFixed(3)}): ${v.cost <= 0 ? "no measurable cost" : `cost ${v.cost.toFixed(1)}% of throughput`}${v.cost < limit ? "" : `; gap ${(v.cost - limit).toFixed(1)} points`}; measured calls/s vs off = ${v.tput.median.toFixed(3)} (runs ${v.tput.min.toFixed(3)}–${v.tput.max.toFixed(3)})`,
          };
        }),
        notes: [
          `Three daemons side by side (telemetry.tracing off / sampleRatio 0.1 / 1), ${runs} interleaved runs of ${durationMs} ms, no OTLP collector; ratios are medians of per-run ratios. The verdict uses CPU per call (client + daemon + plugin): with both cores busy, throughput is its inverse, and it is far steadier than calls/s on a shared machine.`,
        ],
      };
    } finally {
      for (const d of daemons) await d.stop();
    }
  },
};
