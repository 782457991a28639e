/**
 * The live view behind `bkg top`: each plugin's state and instances from the supervisor, with
 * calls/s, errors and latency percentiles over the recent windows (the last 10 s or so, see
 * RECENT_MS in recorder.ts), and RSS/CPU of each instance's process group.
 */
import type { PluginSummary } from "../supervisor/index.js";
import { addDense, BUCKETS, percentiles } from "./histogram.js";
import type { ProcUsage } from "./process-stats.js";
import type { CallRecorder, MethodStats } from "./recorder.js";
import type { TokenUsageRow } from "./token-usage.js";

export interface LiveRates {
  inflight: number;
  /** Totals since the daemon started. */
  calls: number;
  errors: number;
  /** Over the recent window. */
  ratePerSec: number;
  errorsPerSec: number;
  p50?: number;
  p90?: number;
  p99?: number;
  queueWaitAvgMs?: number;
}

export interface LiveMethod extends LiveRates {
  method: string;
}

export interface LiveInstance {
  id: string;
  pid?: number;
  state: string;
  inflight: number;
  uptimeMs: number;
  rssBytes?: number;
  cpuPct?: number;
  processes?: number;
}

export interface LivePlugin extends LiveRates {
  name: string;
  state: string;
  reason?: string;
  version?: string;
  restarts: number;
  queued: number;
  rssBytes?: number;
  cpuPct?: number;
  instances: LiveInstance[];
  methods: LiveMethod[];
}

export interface LiveSnapshot {
  ts: number;
  nodeId: string;
  version: string;
  pid: number;
  uptimeMs: number;
  rssBytes: number;
  cpuPct: number;
  /** How far back the rates and percentiles look, ms. */
  windowMs: number;
  telemetry: {
    enabled: boolean;
    driver: string;
    location: string;
    flushMs: number;
    retentionDays: number;
    lastFlushAt?: number;
    lastFlushMs?: number;
    lastError?: string;
    queuedEvents: number;
  };
  plugins: LivePlugin[];
  /** Tokens used through /v1, per credential and model, since the daemon started (token-usage.ts). */
  tokens?: TokenUsageRow[];
}

/** Rates and percentiles of some methods over the recent window. */
function rates(methods: readonly MethodStats[], windowMs: number): LiveRates {
  const hist = new Float64Array(BUCKETS);
  let inflight = 0,
    calls = 0,
    errors = 0,
    recent = 0,
    recentErrors = 0,
    queueWait = 0;
  for (const s of methods) {
    inflight += s.inflight;
    calls += s.calls;
    errors += s.errors;
    for (const w of [...s.recent, s.cur]) {
      recent += w.calls;
      recentErrors += w.errors;
      queueWait += w.queueWaitSum;
      addDense(hist, w.hist);
    }
  }
  const secs = Math.max(windowMs, 1) / 1000;
  return {
    inflight,
    calls,
    errors,
    ratePerSec: recent / secs,
    errorsPerSec: recentErrors / secs,
    ...percentiles(hist),
    queueWaitAvgMs: recent ? queueWait / recent : undefined,
  };
}

export function livePlugins(list: readonly PluginSummary[], recorder: CallRecorder | undefined, usage: ReadonlyMap<number, ProcUsage>, now: number): { windowMs: number; plugins: LivePlugin[] } {
  const windowMs = recorder ? now - recorder.recentStart : 0;
  const byPlugin = new Map<string, MethodStats[]>();
  if (recorder) for (const s of recorder.all()) byPlugin.set(s.plugin, [...(byPlugin.get(s.plugin) ?? []), s]);
  const plugins = list.map((p): LivePlugin => {
    const methods = byPlugin.get(p.name) ?? [];
    const instances = p.instances.map((i): LiveInstance => {
      const u = i.pid ? usage.get(i.pid) : undefined;
      return { id: i.id, pid: i.pid, state: i.state, inflight: i.inflight, uptimeMs: i.uptimeMs, rssBytes: u?.rssBytes, cpuPct: u?.cpuPct, processes: u?.processes };
    });
    const measured = instances.filter((i) => i.rssBytes !== undefined);
    return {
      name: p.name,
      state: p.state,
      reason: p.reason,
      version: p.version,
      restarts: p.restarts,
      queued: p.queued,
      ...rates(methods, windowMs),
      inflight: methods.length ? methods.reduce((n, s) => n + s.inflight, 0) : p.instances.reduce((n, i) => n + i.inflight, 0),
      rssBytes: measured.length ? measured.reduce((n, i) => n + i.rssBytes!, 0) : undefined,
      cpuPct: measured.length ? measured.reduce((n, i) => n + (i.cpuPct ?? 0), 0) : undefined,
      instances,
      methods: methods.map((s) => ({ method: s.method, ...rates([s], windowMs) })).sort((a, b) => a.method.localeCompare(b.method)),
    };
  });
  return { windowMs, plugins };
}
