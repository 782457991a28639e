/**
 * The trace API's shapes (GET /api/traces, GET /api/traces/:traceId) and the pure geometry of a
 * trace's waterfall: which row each span takes, how deep it is indented, and where its bar starts
 * and ends as percentages of the trace's time span. No Angular here, so tap tests it directly.
 */

export type SpanOutcome = "ok" | "error" | "cancelled" | "timeout";

/** One row of GET /api/traces. */
export interface TraceSummary {
  traceId: string;
  /** "plugin.method" of the first call. */
  root: string;
  /** Epoch ms. */
  startedAt: number;
  durationMs: number;
  spanCount: number;
  error: boolean;
}

/** One routed call of GET /api/traces/:traceId. */
export interface Span {
  spanId: string;
  parentSpanId?: string;
  name: string;
  plugin: string;
  method: string;
  instance?: string;
  node: string;
  caller: string;
  /** Epoch ms. */
  startTime: number;
  durationMs: number;
  queueWaitMs: number;
  outcome: SpanOutcome;
  errorCode?: number;
}

export interface TraceDetail {
  traceId: string;
  spans: Span[];
  /** Spans past the daemon's per-trace limit (telemetry.tracing.spansPerTrace): counted, not kept. */
  droppedSpans?: number;
}

export interface WaterfallRow {
  span: Span;
  /** 0 for a root; a child is one deeper than its parent. */
  depth: number;
  /** Its parent is named but not in this trace (another node's span, or dropped from the ring buffer). */
  orphan: boolean;
  /** Start relative to the trace's first span, in ms. */
  offsetMs: number;
  /** Bar start and width as percentages of the trace's time span (0-100). */
  leftPct: number;
  widthPct: number;
  /** How much of the bar (0-100, of the bar's own width) the call spent queued before an instance took it. */
  queuePct: number;
}

export interface Waterfall {
  rows: WaterfallRow[];
  startTime: number;
  /** From the first span's start to the last span's end (at least a hair above 0, so bars have a scale). */
  totalMs: number;
}

/** A bar never gets thinner than this (a 0 ms call must still be seen and hovered). */
export const MIN_BAR_PCT = 0.5;
const MIN_TOTAL_MS = 0.001;

const finite = (n: number): number => (Number.isFinite(n) ? n : 0);
const clamp = (n: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, n));
const byStart = (a: Span, b: Span): number => finite(a.startTime) - finite(b.startTime) || a.spanId.localeCompare(b.spanId);

/**
 * Rows in reading order: every parent directly above its children (depth-first), siblings and
 * roots by start time. A span whose parent is missing is shown as a root (flagged orphan) rather
 * than hidden; a parent loop in bad data is broken instead of recursing forever.
 */
export function layoutWaterfall(spans: readonly Span[]): Waterfall {
  if (spans.length === 0) return { rows: [], startTime: 0, totalMs: MIN_TOTAL_MS };
  const startTime = Math.min(...spans.map((s) => finite(s.startTime)));
  const endTime = Math.max(...spans.map((s) => finite(s.startTime) + Math.max(0, finite(s.durationMs))));
  const totalMs = Math.max(endTime - startTime, MIN_TOTAL_MS);

  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, Span[]>();
  const roots: Span[] = [];
  for (const s of spans) {
    const parent = s.parentSpanId;
    if (parent !== undefined && parent !== s.spanId && ids.has(parent)) {
      const list = children.get(parent) ?? [];
      list.push(s);
      children.set(parent, list);
    } else roots.push(s);
  }
  for (const list of children.values()) list.sort(byStart);
  roots.sort(byStart);

  const rows: WaterfallRow[] = [];
  const placed = new Set<string>();
  const place = (s: Span, depth: number): void => {
    // Duplicate span ids or a loop: each span once.
    if (placed.has(s.spanId)) return;
    placed.add(s.spanId);
    rows.push(rowOf(s, depth, s.parentSpanId !== undefined && depth === 0, startTime, totalMs));
    for (const c of children.get(s.spanId) ?? []) place(c, depth + 1);
  };
  for (const r of roots) place(r, 0);
  // Spans only reachable through a loop (a -> b -> a) have no root: show them at the top level.
  for (const s of [...spans].sort(byStart)) if (!placed.has(s.spanId)) place(s, 0);
  return { rows, startTime, totalMs };
}

function rowOf(span: Span, depth: number, orphan: boolean, startTime: number, totalMs: number): WaterfallRow {
  const offsetMs = finite(span.startTime) - startTime;
  const duration = Math.max(0, finite(span.durationMs));
  const leftPct = clamp((offsetMs / totalMs) * 100, 0, 100 - MIN_BAR_PCT);
  const widthPct = clamp((duration / totalMs) * 100, MIN_BAR_PCT, 100 - leftPct);
  const queuePct = duration > 0 ? clamp((Math.max(0, finite(span.queueWaitMs)) / duration) * 100, 0, 100) : 0;
  return { span, depth, orphan, offsetMs, leftPct, widthPct, queuePct };
}

/**
 * Round tick marks for the time axis (0, and steps of 1, 2 or 5 times a power of ten) so that
 * about `count` of them fit, each with its position in percent.
 */
export function axisTicks(totalMs: number, count = 5): { ms: number; pct: number }[] {
  const total = Math.max(finite(totalMs), MIN_TOTAL_MS);
  const raw = total / Math.max(1, count);
  const exponent = Math.floor(Math.log10(raw));
  const multiple = [1, 2, 5, 10].find((m) => m * 10 ** exponent >= raw) ?? 10;
  // i * multiple is an integer; scaling it once by a power of ten (dividing for small steps)
  // keeps 0.1 + 0.2 style errors out of the labels.
  const at = (i: number): number => (exponent < 0 ? (i * multiple) / 10 ** -exponent : i * multiple * 10 ** exponent);
  const ticks: { ms: number; pct: number }[] = [];
  for (let i = 0; at(i) <= total * (1 + 1e-9); i++) ticks.push({ ms: at(i), pct: (at(i) / total) * 100 });
  return ticks;
}

/**
 * Where a bar's duration label goes, so it stays inside the chart and readable: after the bar when
 * there is room on the right, else before it when there is room on the left, else inside the bar
 * at its right end. `pct` is the label's anchor; "before" and "inside" labels end at the anchor.
 */
export function durationLabelAt(row: Pick<WaterfallRow, "leftPct" | "widthPct">): { pct: number; place: "after" | "before" | "inside" } {
  const end = row.leftPct + row.widthPct;
  if (end <= 80) return { pct: end, place: "after" };
  if (row.leftPct >= 20) return { pct: row.leftPct, place: "before" };
  return { pct: end, place: "inside" };
}

/** Tailwind classes for a span's bar and its outcome badge: the colour is never the only sign (the text says it too). */
export function outcomeClass(outcome: SpanOutcome | string): string {
  if (outcome === "ok") return "bg-emerald-500 dark:bg-emerald-400";
  if (outcome === "error") return "bg-red-600 dark:bg-red-500";
  if (outcome === "timeout") return "bg-amber-500 dark:bg-amber-400";
  return "bg-slate-400 dark:bg-slate-500";
}
