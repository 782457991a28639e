/**
 * Per-minute time series of each plugin, from the stored rollups and instance samples: what the
 * dashboard's charts draw for the last 15 minutes (calls/s, errors, p99, RSS, CPU). One point per
 * (plugin, minute) that has data; a minute with no row has no point, so a gap reads as a gap.
 */
import type { InstanceStatRow, RollupRow } from "../store/index.js";
import { addSparse, BUCKETS, quantile } from "./histogram.js";

export interface SeriesPoint {
  /** Start of the minute, epoch ms. */
  minute: number;
  calls: number;
  errors: number;
  /** calls / 60 */
  callsPerSec: number;
  p99?: number;
  /** Summed over the plugin's instances (their last sample in the minute). */
  rssBytes?: number;
  cpuPct?: number;
}

export interface PluginSeries {
  plugin: string;
  points: SeriesPoint[];
}

interface Acc {
  calls: number;
  errors: number;
  hist?: Float64Array;
  rssBytes?: number;
  cpuPct?: number;
  /** The daemon run whose instance samples rssBytes/cpuPct hold (a restarted daemon's minute holds both runs' rows). */
  rssRun?: string;
}

/**
 * Groups rows by plugin and minute. Calls of several daemon runs (or daemons) in one minute add up;
 * RSS and CPU add up over the instances of the newest run only, since an older run's processes are gone.
 * Points are oldest first.
 */
export function buildSeries(rollups: readonly RollupRow[], instances: readonly InstanceStatRow[]): PluginSeries[] {
  const byPlugin = new Map<string, Map<number, Acc>>();
  const acc = (plugin: string, minute: number): Acc => {
    let minutes = byPlugin.get(plugin);
    if (!minutes) byPlugin.set(plugin, (minutes = new Map()));
    let a = minutes.get(minute);
    if (!a) minutes.set(minute, (a = { calls: 0, errors: 0 }));
    return a;
  };
  for (const r of rollups) {
    const a = acc(r.plugin, r.minute);
    a.calls += r.calls;
    a.errors += r.errors;
    addSparse((a.hist ??= new Float64Array(BUCKETS)), r.histogram);
  }
  for (const i of [...instances].sort((x, y) => x.runId - y.runId)) {
    const a = acc(i.plugin, i.minute);
    const run = `${i.nodeId}/${i.runId}`;
    if (a.rssRun !== run) {
      a.rssRun = run;
      a.rssBytes = 0;
      a.cpuPct = 0;
    }
    a.rssBytes = (a.rssBytes ?? 0) + i.rssBytes;
    a.cpuPct = (a.cpuPct ?? 0) + i.cpuPct;
  }
  return [...byPlugin]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([plugin, minutes]) => ({
      plugin,
      points: [...minutes]
        .sort(([a], [b]) => a - b)
        .map(([minute, a]) => {
          const q = a.hist ? quantile(a.hist, 0.99) : undefined;
          const p99 = q === undefined ? undefined : Math.round(q * 1000) / 1000;
          return {
            minute,
            calls: a.calls,
            errors: a.errors,
            callsPerSec: Math.round((a.calls / 60) * 1000) / 1000,
            ...(p99 !== undefined ? { p99 } : {}),
            ...(a.rssBytes !== undefined ? { rssBytes: a.rssBytes } : {}),
            ...(a.cpuPct !== undefined ? { cpuPct: Math.round(a.cpuPct * 10) / 10 } : {}),
          };
        }),
    }));
}
