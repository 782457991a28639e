/**
 * What a daemon setting costs: socket calls to echo (64 in flight) on daemons that differ only
 * in their config, side by side, runs interleaved, each compared with a baseline subject by
 * per-run ratios. The costs scenario (telemetry) and the tracing scenario both measure this way.
 */
import { bootDaemon, echoManifest, type BenchDaemon } from "./daemon.js";
import { closedLoop, interleaved, type LoadResult } from "./load.js";
import { SMALL } from "./payloads.js";
import type { BenchContext, Row } from "./scenario.js";
import { summarize, type Summary } from "./stats.js";

export const SOCKET_CASE = "socket, 64 in flight";

export interface ConfigRuns {
  /** Each subject's runs, in the order they were measured. */
  res: Map<string, LoadResult[]>;
  runs: number;
  durationMs: number;
}

/** Boots one daemon per subject, warms each, measures them interleaved, and stops them. */
export async function measureConfigs(ctx: BenchContext, subjects: readonly { name: string; config: Record<string, unknown> }[], label: string): Promise<ConfigRuns> {
  const daemons: BenchDaemon[] = [];
  try {
    const booted: { name: string; d: BenchDaemon; pids: { daemon: number; plugin: number } }[] = [];
    for (const s of subjects) {
      const d = await bootDaemon({ manifests: { echo: echoManifest() }, config: s.config });
      daemons.push(d);
      await d.waitReady(["echo"]);
      const [plugin] = await d.pluginPids("echo");
      booted.push({ name: s.name, d, pids: { daemon: d.pid, plugin } });
    }
    const durationMs = ctx.quick ? 500 : 3000;
    for (const s of booted) await closedLoop(() => s.d.client.call("echo.echo", SMALL), { inflight: 64, durationMs: 500, maxCalls: 500_000 });
    const runs = ctx.quick ? 2 : ctx.runs;
    const res = await interleaved(
      booted,
      runs,
      (s) => closedLoop(() => s.d.client.call("echo.echo", SMALL), { inflight: 64, durationMs, warmupMs: 100, maxCalls: 2_000_000, pids: s.pids }),
      (r) => ctx.log(`${label}: run ${r + 1}/${runs}`),
    );
    return { res, runs, durationMs };
  } finally {
    for (const d of daemons) await d.stop();
  }
}

export interface CostVsBase {
  /** calls/s over the baseline's, per run. */
  tput: Summary;
  /** CPU per call over the baseline's, per run. */
  cpu: Summary;
  /** Percent of throughput lost, from the CPU ratio's median. */
  cost: number;
}

/** `name` against `base`, run by run. CPU-bound, throughput goes as 1 / CPU per call: the CPU ratio is the steadier estimate. */
export function costVs(res: Map<string, LoadResult[]>, name: string, base: string): CostVsBase {
  const a = res.get(name)!;
  const b = res.get(base)!;
  const tput = summarize(a.map((x, i) => x.callsPerSec / b[i].callsPerSec));
  const cpu = summarize(a.map((x, i) => x.cpuUsPerCall / b[i].cpuUsPerCall));
  return { tput, cpu, cost: (1 - 1 / cpu.median) * 100 };
}

/** "CPU per call <relation> = ...: cost x% of throughput; gap ...; measured calls/s <relation> = ..." (relation: "vs off", "on/off"). */
export function costDetail(v: CostVsBase, limit: number, relation: string): string {
  const range = (s: Summary) => `${s.median.toFixed(3)} (runs ${s.min.toFixed(3)}–${s.max.toFixed(3)})`;
  const cost = v.cost <= 0 ? "no measurable cost" : `cost ${v.cost.toFixed(1)}% of throughput`;
  return `CPU per call ${relation} = ${range(v.cpu)}: ${cost}${v.cost < limit ? "" : `; gap ${(v.cost - limit).toFixed(1)} points`}; measured calls/s ${relation} = ${range(v.tput)}`;
}

/** A subject's row: calls/s, CPU per call of all processes and of the daemon, and its ratios when given. */
export function socketLoadRow(name: string, rs: LoadResult[], v?: CostVsBase): Row {
  return {
    case: SOCKET_CASE,
    subject: name,
    metrics: [
      { label: "calls/s", summary: summarize(rs.map((x) => x.callsPerSec)) },
      { label: "CPU µs/call (all)", summary: summarize(rs.map((x) => x.cpuUsPerCall)) },
      { label: "CPU µs/call (daemon)", summary: summarize(rs.map((x) => x.cpuByRole.daemon)) },
    ],
    vs: v ? `calls/s ${v.tput.median.toFixed(3)}x off, CPU/call ${v.cpu.median.toFixed(3)}x off` : undefined,
  };
}
