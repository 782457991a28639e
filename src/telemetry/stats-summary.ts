/**
 * Summaries of stored rollups over a time range: per plugin and method, calls, errors by code,
 * mean and max latency, p50/p90/p99 from the merged histograms, queue wait; per instance, the
 * last and peak RSS and the mean CPU. Rows of every node and run in the range are merged.
 */
import type { InstanceStatRow, RollupRow } from "../store/index.js";
import { addSparse, BUCKETS, percentiles } from "./histogram.js";

export interface MethodSummary {
  plugin: string;
  method: string;
  calls: number;
  errors: number;
  errorsByCode: Record<string, number>;
  meanMs: number;
  maxMs: number;
  p50?: number;
  p90?: number;
  p99?: number;
  queueWaitMeanMs: number;
  queueWaitMaxMs: number;
}

export interface InstanceSummaryRow {
  nodeId: string;
  plugin: string;
  instance: string;
  pid?: number;
  lastSeen: number;
  rssBytes: number;
  rssMaxBytes: number;
  cpuMeanPct: number;
  restarts: number;
}

export function summarizeRollups(rows: readonly RollupRow[]): MethodSummary[] {
  const groups = new Map<string, { s: MethodSummary; hist: Float64Array; durationSum: number; queueWaitSum: number }>();
  for (const r of rows) {
    const key = `${r.plugin}\0${r.method}`;
    let g = groups.get(key);
    if (!g) {
      const s: MethodSummary = { plugin: r.plugin, method: r.method, calls: 0, errors: 0, errorsByCode: {}, meanMs: 0, maxMs: 0, queueWaitMeanMs: 0, queueWaitMaxMs: 0 };
      groups.set(key, (g = { s, hist: new Float64Array(BUCKETS), durationSum: 0, queueWaitSum: 0 }));
    }
    g.s.calls += r.calls;
    g.s.errors += r.errors;
    for (const [code, n] of Object.entries(r.errorsByCode)) g.s.errorsByCode[code] = (g.s.errorsByCode[code] ?? 0) + n;
    g.durationSum += r.durationSum;
    g.queueWaitSum += r.queueWaitSum;
    g.s.maxMs = Math.max(g.s.maxMs, r.durationMax);
    g.s.queueWaitMaxMs = Math.max(g.s.queueWaitMaxMs, r.queueWaitMax);
    addSparse(g.hist, r.histogram);
  }
  return [...groups.values()]
    .map(({ s, hist, durationSum, queueWaitSum }) => ({
      ...s,
      meanMs: s.calls ? durationSum / s.calls : 0,
      queueWaitMeanMs: s.calls ? queueWaitSum / s.calls : 0,
      ...percentiles(hist),
    }))
    .sort((a, b) => a.plugin.localeCompare(b.plugin) || a.method.localeCompare(b.method));
}

export function summarizeInstances(rows: readonly InstanceStatRow[]): InstanceSummaryRow[] {
  const groups = new Map<string, { s: InstanceSummaryRow; cpu: number; n: number }>();
  for (const r of rows) {
    const key = `${r.nodeId}\0${r.runId}\0${r.instance}`;
    let g = groups.get(key);
    if (!g)
      groups.set(
        key,
        (g = {
          s: { nodeId: r.nodeId, plugin: r.plugin, instance: r.instance, pid: r.pid, lastSeen: r.minute, rssBytes: r.rssBytes, rssMaxBytes: 0, cpuMeanPct: 0, restarts: r.restarts },
          cpu: 0,
          n: 0,
        }),
      );
    if (r.minute >= g.s.lastSeen) Object.assign(g.s, { lastSeen: r.minute, rssBytes: r.rssBytes, pid: r.pid, restarts: r.restarts });
    g.s.rssMaxBytes = Math.max(g.s.rssMaxBytes, r.rssMaxBytes);
    g.cpu += r.cpuPct;
    g.n++;
  }
  return [...groups.values()].map(({ s, cpu, n }) => ({ ...s, cpuMeanPct: n ? cpu / n : 0 })).sort((a, b) => a.plugin.localeCompare(b.plugin) || a.instance.localeCompare(b.instance));
}
