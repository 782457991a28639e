/**
 * The daemon's own memory of recent traces: what `bkg trace` and GET /api/traces show without a
 * collector. Bounded twice: at most `maxTraces` traces (the one least recently added to goes
 * first) and `spansPerTrace` spans in each (later spans are counted, not kept).
 *
 * Nothing in it is a JavaScript object per trace or span: traces live in typed arrays indexed by
 * slot (their span lists and a least-recently-active list), found through a TraceIndex; spans in
 * SpanColumns; names in a StringTable. The JSON shapes
 * (TraceSummary, TraceView) are built only when asked. That keeps a recorded span from being
 * work for the garbage collector while it waits here, which was most of what it cost
 * (docs/benchmarks.md, tracing).
 */
import type { Span, SpanView } from "./span.js";
import { CALLER, HAS_PARENT, IDS, INSTANCE, NAME, NODE, NONE, OUTCOMES, SpanColumns, STRS } from "./span-columns.js";
import { StringTable } from "./string-table.js";
import { TRACE_ID, TraceIndex } from "./trace-index.js";

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

/** Where the trace id and span id start in a version-00 traceparent. */
const TP_TRACE_ID = 3;
const TP_SPAN_ID = 36;
const OUTCOME_INDEX: Record<string, number> = { ok: 0, error: 1, cancelled: 2, timeout: 3 };

export class TraceBuffer {
  private readonly spans: SpanColumns;
  private readonly strings = new StringTable();
  // Per trace slot.
  private readonly index: TraceIndex;
  private readonly first: Int32Array;
  private readonly last: Int32Array;
  private readonly kept: Int32Array;
  private readonly dropped: Int32Array;
  /** The least-recently-active list: head goes first, tail is the latest. */
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private head = NONE;
  private tail = NONE;
  private count = 0;
  /** Unused trace slots, a stack. */
  private readonly freeTraces: Int32Array;
  private freeTop: number;

  constructor(
    private readonly maxTraces: number,
    private readonly spansPerTrace: number,
  ) {
    // Most traces hold a span or a few: room for one per trace first, doubled when needed.
    this.spans = new SpanColumns(maxTraces, maxTraces * spansPerTrace);
    this.index = new TraceIndex(maxTraces);
    this.first = new Int32Array(maxTraces);
    this.last = new Int32Array(maxTraces);
    this.kept = new Int32Array(maxTraces);
    this.dropped = new Int32Array(maxTraces);
    this.prev = new Int32Array(maxTraces);
    this.next = new Int32Array(maxTraces);
    this.freeTraces = Int32Array.from({ length: maxTraces }, (_, i) => maxTraces - 1 - i);
    this.freeTop = maxTraces;
  }

  /** Records a finished span (its fields are copied; the Span is not kept). O(1) but for eviction. */
  add(span: Span): void {
    const tp = span.traceparent;
    const hash = this.index.hashOf(tp, TP_TRACE_ID);
    let t = this.index.find(tp, TP_TRACE_ID, hash);
    if (t === NONE) {
      if (this.count >= this.maxTraces) this.evict(this.head);
      t = this.freeTraces[--this.freeTop];
      this.index.insert(t, tp, TP_TRACE_ID, hash);
      this.first[t] = NONE;
      this.last[t] = NONE;
      this.kept[t] = 0;
      this.dropped[t] = 0;
      this.append(t);
      this.count++;
    } else if (t !== this.tail) {
      this.unlink(t);
      this.append(t);
    }
    const slot = this.kept[t] < this.spansPerTrace ? this.spans.take() : NONE;
    if (slot === NONE) this.dropped[t]++;
    else this.write(slot, span, t);
  }

  get size(): number {
    return this.count;
  }

  /** The most recently active traces first, at most `limit`. */
  list(limit: number): TraceSummary[] {
    const out: TraceSummary[] = [];
    for (let t = this.tail; t !== NONE && out.length < limit; t = this.prev[t]) out.push(this.summarize(t));
    return out;
  }

  /** One trace's spans in start order, or undefined when it is not (or no longer) here. */
  get(traceId: string): TraceView | undefined {
    if (traceId.length !== TRACE_ID) return undefined;
    const t = this.index.find(traceId, 0, this.index.hashOf(traceId, 0));
    if (t === NONE) return undefined;
    const spans = this.slotsOf(t)
      .sort((a, b) => this.spans.start[a] - this.spans.start[b])
      .map((s) => this.view(s));
    return { traceId, spans, ...(this.dropped[t] ? { droppedSpans: this.dropped[t] } : {}) };
  }

  /** Distinct names, callers, instances and nodes held (bounded by the spans held). */
  get stringCount(): number {
    return this.strings.size;
  }

  private write(s: number, span: Span, t: number): void {
    const c = this.spans;
    const tp = span.traceparent;
    const at = s * IDS;
    for (let i = 0; i < 16; i++) c.ids[at + i] = tp.charCodeAt(TP_SPAN_ID + i);
    const parent = span.parentSpanId;
    if (parent !== undefined) for (let i = 0; i < 16; i++) c.ids[at + 16 + i] = parent.charCodeAt(i);
    c.flags[s] = parent !== undefined ? HAS_PARENT : 0;
    c.start[s] = span.startTime;
    c.duration[s] = span.durationMs;
    c.queueWait[s] = span.queueWaitMs;
    c.outcome[s] = OUTCOME_INDEX[span.outcome];
    c.code[s] = span.errorCode ?? 0;
    const st = s * STRS;
    c.strs[st + NAME] = this.strings.ref(span.name, NAME);
    c.strs[st + CALLER] = this.strings.ref(span.caller, CALLER);
    c.strs[st + INSTANCE] = span.instance ? this.strings.ref(span.instance, INSTANCE) : NONE;
    c.strs[st + NODE] = this.strings.ref(span.node, NODE);
    c.next[s] = NONE;
    if (this.last[t] === NONE) this.first[t] = s;
    else c.next[this.last[t]] = s;
    this.last[t] = s;
    this.kept[t]++;
  }

  private slotsOf(t: number): number[] {
    const out: number[] = [];
    for (let s = this.first[t]; s !== NONE; s = this.spans.next[s]) out.push(s);
    return out;
  }

  private view(s: number): SpanView {
    const c = this.spans;
    const st = s * STRS;
    const name = this.strings.at(c.strs[st + NAME]);
    const dot = name.indexOf(".");
    const instance = c.strs[st + INSTANCE];
    const outcome = OUTCOMES[c.outcome[s]];
    return {
      spanId: c.id(s, 0),
      ...(c.flags[s] & HAS_PARENT ? { parentSpanId: c.id(s, 1) } : {}),
      name,
      plugin: name.slice(0, dot),
      method: name.slice(dot + 1),
      ...(instance !== NONE ? { instance: this.strings.at(instance) } : {}),
      node: this.strings.at(c.strs[st + NODE]),
      caller: this.strings.at(c.strs[st + CALLER]),
      startTime: round3(c.start[s]),
      durationMs: round3(c.duration[s]),
      queueWaitMs: round3(c.queueWait[s]),
      outcome,
      ...(outcome !== "ok" ? { errorCode: c.code[s] } : {}),
    };
  }

  private summarize(t: number): TraceSummary {
    const c = this.spans;
    const slots = this.slotsOf(t);
    // A root is a span whose parent is not here (a trace's first span, or a caller's own span).
    const here = slots.length > 1 ? new Set(slots.map((s) => c.id(s, 0))) : undefined;
    let start = Number.POSITIVE_INFINITY;
    let end = 0;
    let root = NONE;
    let error = false;
    for (const s of slots) {
      start = Math.min(start, c.start[s]);
      end = Math.max(end, c.start[s] + c.duration[s]);
      if (c.outcome[s] !== 0) error = true;
      const isRoot = !(c.flags[s] & HAS_PARENT) || !here?.has(c.id(s, 1));
      if (isRoot && (root === NONE || c.start[s] < c.start[root])) root = s;
    }
    return {
      traceId: this.index.idOf(t),
      root: root === NONE ? "" : this.strings.at(c.strs[root * STRS + NAME]),
      startedAt: round3(start),
      durationMs: round3(end - start),
      spanCount: this.kept[t] + this.dropped[t],
      error,
    };
  }

  /** Frees trace slot `t` and its spans. */
  private evict(t: number): void {
    const c = this.spans;
    for (let s = this.first[t]; s !== NONE; ) {
      const after = c.next[s];
      const st = s * STRS;
      this.strings.unref(c.strs[st + NAME]);
      this.strings.unref(c.strs[st + CALLER]);
      if (c.strs[st + INSTANCE] !== NONE) this.strings.unref(c.strs[st + INSTANCE]);
      this.strings.unref(c.strs[st + NODE]);
      c.release(s);
      s = after;
    }
    this.index.remove(t);
    this.unlink(t);
    this.freeTraces[this.freeTop++] = t;
    this.count--;
  }

  private append(t: number): void {
    this.prev[t] = this.tail;
    this.next[t] = NONE;
    if (this.tail === NONE) this.head = t;
    else this.next[this.tail] = t;
    this.tail = t;
  }

  private unlink(t: number): void {
    const p = this.prev[t];
    const n = this.next[t];
    if (p === NONE) this.head = n;
    else this.next[p] = n;
    if (n === NONE) this.tail = p;
    else this.prev[n] = p;
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
