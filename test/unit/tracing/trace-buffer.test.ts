/**
 * The columnar trace buffer against a plain model of what it must answer (a Map of span lists,
 * least recently active first): random spans over a small pool of trace ids, so that traces are
 * evicted, revisited, filled past spansPerTrace and their hash-table entries moved.
 */
import t from "tap";
import { ErrorCodes } from "@bkg/protocol";
import { Span, type SpanView, TraceBuffer, type TraceSummary, outcomeOf } from "../../../src/tracing/index.js";
import { NONE, SpanColumns } from "../../../src/tracing/span-columns.js";

/** A deterministic generator (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;
const hex = (r: () => number, n: number) =>
  Array.from({ length: n }, () => "0123456789abcdef"[Math.floor(r() * 16)])
    .join("")
    .replace(/^0/, "1");

interface Model {
  traces: Map<string, { spans: SpanView[]; dropped: number }>;
}

function modelAdd(m: Model, maxTraces: number, spansPerTrace: number, traceId: string, v: SpanView): void {
  let e = m.traces.get(traceId);
  if (e) m.traces.delete(traceId);
  else {
    if (m.traces.size >= maxTraces) m.traces.delete(m.traces.keys().next().value as string);
    e = { spans: [], dropped: 0 };
  }
  if (e.spans.length < spansPerTrace) e.spans.push(v);
  else e.dropped++;
  m.traces.set(traceId, e);
}

function modelSummary(traceId: string, e: { spans: SpanView[]; dropped: number }): TraceSummary {
  const ids = new Set(e.spans.map((s) => s.spanId));
  const start = Math.min(...e.spans.map((s) => s.startTime));
  const end = Math.max(...e.spans.map((s) => s.startTime + s.durationMs));
  const roots = e.spans.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId)).sort((a, b) => a.startTime - b.startTime);
  return {
    traceId,
    root: roots[0]?.name ?? "",
    startedAt: round3(start),
    durationMs: Math.round((end - start) * 1000) / 1000,
    spanCount: e.spans.length + e.dropped,
    error: e.spans.some((s) => s.outcome !== "ok"),
  };
}

t.test("random spans: list and get answer what the model does", async (t) => {
  for (const [maxTraces, spansPerTrace, seed] of [
    [1, 1, 1],
    [3, 2, 2],
    [7, 3, 3],
    [50, 4, 4],
  ]) {
    const r = rng(seed);
    const buffer = new TraceBuffer(maxTraces, spansPerTrace);
    const model: Model = { traces: new Map() };
    const pool = Array.from({ length: maxTraces * 3 }, () => hex(r, 32));
    const codes = [0, 0, 0, ErrorCodes.PluginError, ErrorCodes.RequestCancelled, ErrorCodes.DeadlineExceeded];
    let mismatches = 0;
    for (let i = 0; i < 3000; i++) {
      const traceId = pool[Math.floor(r() * pool.length)];
      const spanId = hex(r, 16);
      const parent = r() < 0.5 ? hex(r, 16) : undefined;
      const span = new Span(`00-${traceId}-${spanId}-01`, parent, `p${Math.floor(r() * 3)}.m${i % 5}`, `client:${i}`, `node-${i % 2}`);
      // Whole microseconds, so the model's sums are exact and rounding cannot differ.
      (span as { startTime: number }).startTime = 1_700_000_000_000 + Math.floor(r() * 1e6) / 1000;
      span.durationMs = Math.floor(r() * 1e5) / 1000;
      span.queueWaitMs = Math.floor(r() * 1e3) / 1000;
      if (r() < 0.7) span.instance = `p#${i % 4}@1`;
      const code = codes[Math.floor(r() * codes.length)];
      span.outcome = outcomeOf(code);
      if (code !== 0) span.errorCode = code;
      buffer.add(span);
      const view: SpanView = {
        spanId,
        ...(parent ? { parentSpanId: parent } : {}),
        name: span.name,
        plugin: span.plugin,
        method: span.method,
        ...(span.instance ? { instance: span.instance } : {}),
        node: span.node,
        caller: span.caller,
        startTime: round3(span.startTime),
        durationMs: round3(span.durationMs),
        queueWaitMs: round3(span.queueWaitMs),
        outcome: span.outcome,
        ...(code !== 0 ? { errorCode: code } : {}),
      };
      modelAdd(model, maxTraces, spansPerTrace, traceId, view);
      if (i % 97 !== 0 && i !== 2999) continue;
      const want = [...model.traces].reverse().map(([id, e]) => modelSummary(id, e));
      if (JSON.stringify(buffer.list(1000)) !== JSON.stringify(want)) mismatches++;
      for (const id of pool) {
        const e = model.traces.get(id);
        const got = buffer.get(id);
        const expected = e && { traceId: id, spans: [...e.spans].sort((a, b) => a.startTime - b.startTime), ...(e.dropped ? { droppedSpans: e.dropped } : {}) };
        if (JSON.stringify(got) !== JSON.stringify(expected)) mismatches++;
      }
    }
    t.equal(mismatches, 0, `${maxTraces} traces x ${spansPerTrace} spans: list and get match the model after every check`);
    t.equal(buffer.size, Math.min(maxTraces, model.traces.size));
    // Each kept span names its own caller: the table holds the strings of the spans kept, not of
    // the 3000 recorded.
    const spans = [...model.traces.values()].flatMap((e) => e.spans);
    const named = new Set(spans.flatMap((s) => [s.name, s.caller, s.node, ...(s.instance ? [s.instance] : [])]));
    t.equal(buffer.stringCount, named.size, `strings held: those of the ${spans.length} spans kept`);
  }
});

t.test("a trace id that is not 32 characters, or not here, is undefined", async (t) => {
  const buffer = new TraceBuffer(2, 2);
  t.equal(buffer.get(""), undefined);
  t.equal(buffer.get("4bf92f3577b34da6a3ce929d0e0e473"), undefined);
  t.equal(buffer.get("4bf92f3577b34da6a3ce929d0e0e4736"), undefined);
  t.same(buffer.list(10), []);
});

t.test("span columns: reused through the free list, doubled up to their limit, then NONE (a dropped span)", async (t) => {
  const c = new SpanColumns(1, 3);
  const slots = [c.take(), c.take(), c.take()];
  t.same(slots, [0, 1, 2]);
  t.equal(c.capacity, 3, "grew 1 -> 2 -> 3 (its limit)");
  t.equal(c.take(), NONE, "past the limit: no slot, never a throw");
  c.release(1);
  t.equal(c.take(), 1, "a released slot is taken again");
});
