/**
 * The daemon's own memory of recent traces: what `bkg trace` and GET /api/traces show without a
 * collector. Bounded twice: at most `maxTraces` traces (the one least recently added to goes
 * first) and `spansPerTrace` spans in each (later spans are counted, not kept).
 */
import type { Span, SpanView } from "./span.js";

/** A trace in GET /api/traces. */
export interface TraceSummary {
  traceId: string;
  /** The name ("plugin.method") of its first span without a parent here. */
  root: string;
  /** Epoch ms of its earliest span. */
  startedAt: number;
  /** From the earliest start to the latest end. */
  durationMs: number;
  spanCount: number;
  /** Whether any span ended other than ok. */
  error: boolean;
}

/** One trace in GET /api/traces/:traceId. */
export interface TraceView {
  traceId: string;
  spans: SpanView[];
  /** Spans past telemetry.tracing.spansPerTrace, not kept (absent when none). */
  droppedSpans?: number;
}

interface Entry {
  spans: Span[];
  dropped: number;
}

export class TraceBuffer {
  // A Map keeps insertion order: re-inserting a trace on each span makes its first key the
  // least recently active, the one to evict.
  private readonly traces = new Map<string, Entry>();

  constructor(
    private readonly maxTraces: number,
    private readonly spansPerTrace: number,
  ) {}

  /** Records a finished span. O(1). */
  add(span: Span): void {
    let e = this.traces.get(span.traceId);
    if (e) this.traces.delete(span.traceId);
    else {
      e = { spans: [], dropped: 0 };
      if (this.traces.size >= this.maxTraces) this.traces.delete(this.traces.keys().next().value as string);
    }
    this.traces.set(span.traceId, e);
    if (e.spans.length < this.spansPerTrace) e.spans.push(span);
    else e.dropped++;
  }

  get size(): number {
    return this.traces.size;
  }

  /** The most recently active traces first, at most `limit`. */
  list(limit: number): TraceSummary[] {
    const out: TraceSummary[] = [];
    const ids = [...this.traces.keys()];
    for (let i = ids.length - 1; i >= 0 && out.length < limit; i--) out.push(summarize(ids[i], this.traces.get(ids[i])!));
    return out;
  }

  /** One trace's spans in start order, or undefined when it is not (or no longer) here. */
  get(traceId: string): TraceView | undefined {
    const e = this.traces.get(traceId);
    if (!e) return undefined;
    const spans = [...e.spans].sort((a, b) => a.startTime - b.startTime).map((s) => s.view());
    return { traceId, spans, ...(e.dropped ? { droppedSpans: e.dropped } : {}) };
  }
}

function summarize(traceId: string, e: Entry): TraceSummary {
  const ids = new Set(e.spans.map((s) => s.spanId));
  let start = Number.POSITIVE_INFINITY;
  let end = 0;
  let root: Span | undefined;
  let error = false;
  for (const s of e.spans) {
    start = Math.min(start, s.startTime);
    end = Math.max(end, s.startTime + s.durationMs);
    if (s.outcome !== "ok") error = true;
    const isRoot = !s.parentSpanId || !ids.has(s.parentSpanId);
    if (isRoot && (!root || s.startTime < root.startTime)) root = s;
  }
  return {
    traceId,
    root: root?.name ?? "",
    startedAt: Math.round(start * 1000) / 1000,
    durationMs: Math.round((end - start) * 1000) / 1000,
    spanCount: e.spans.length + e.dropped,
    error,
  };
}
