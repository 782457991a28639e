import type { Point } from "../ui/sparkline.component";

export interface SeriesPoint {
  minute: number;
  calls: number;
  errors: number;
  callsPerSec: number;
  p99?: number;
  rssBytes?: number;
  cpuPct?: number;
}

export interface PluginCharts {
  calls: Point[];
  p99: Point[];
  rss: Point[];
}

const WINDOW_MS = 15 * 60_000;

/** The stored per-minute history of a plugin (GET /api/telemetry/series) as chart points. */
export function chartsFromSeries(points: SeriesPoint[]): PluginCharts {
  return {
    calls: points.map((p) => ({ t: p.minute + 30_000, v: p.callsPerSec })),
    p99: points.filter((p) => p.p99 !== undefined).map((p) => ({ t: p.minute + 30_000, v: p.p99! })),
    rss: points.filter((p) => p.rssBytes !== undefined).map((p) => ({ t: p.minute + 30_000, v: p.rssBytes! })),
  };
}

/** Adds one live sample (every 2 s over the WebSocket) and drops what fell out of the 15-minute window. */
export function addSample(c: PluginCharts, t: number, sample: { ratePerSec?: number; p99?: number; rssBytes?: number }): PluginCharts {
  const keep = (pts: Point[], v: number | undefined) => {
    const next = v === undefined ? pts : [...pts, { t, v }];
    return next.filter((p) => p.t >= t - WINDOW_MS);
  };
  return { calls: keep(c.calls, sample.ratePerSec ?? 0), p99: keep(c.p99, sample.p99), rss: keep(c.rss, sample.rssBytes) };
}

export const emptyCharts = (): PluginCharts => ({ calls: [], p99: [], rss: [] });
