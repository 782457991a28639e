/** The tracer: parent-based sampling, what the plugin receives, and the ring buffer's bounds. */
import t from "tap";
import { ErrorCodes } from "@bkg/protocol";
import { Span, Tracer } from "../../../src/tracing/index.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const settings = (sampleRatio: number, bufferTraces = 100, spansPerTrace = 10) => ({ sampleRatio, bufferTraces, spansPerTrace });
const begin = (tr: Tracer, incoming?: string) => tr.begin(incoming, "echo.reverse", "cli");

t.test("a sampled caller: a child span of the caller's, passed on as the parent", async (t) => {
  const tr = new Tracer(settings(0), "node-a");
  const s = begin(tr, `00-${TRACE}-${PARENT}-01`);
  if (!(s instanceof Span)) throw new Error("expected a span: the caller's sampled flag wins over sampleRatio 0");
  t.equal(s.traceId, TRACE);
  t.equal(s.parentSpanId, PARENT);
  t.not(s.spanId, PARENT);
  t.equal(s.traceparent, `00-${TRACE}-${s.spanId}-01`, "the plugin gets this span as its parent");
  tr.end(s, 0);
  t.match(tr.buffer.get(TRACE)?.spans, [{ spanId: s.spanId, parentSpanId: PARENT, name: "echo.reverse", plugin: "echo", method: "reverse", caller: "cli", node: "node-a", outcome: "ok" }]);
});

t.test("an unsampled caller: its traceparent goes on unchanged and nothing is recorded", async (t) => {
  const tr = new Tracer(settings(1), "n");
  const tp = `00-${TRACE}-${PARENT}-00`;
  t.equal(begin(tr, tp), tp);
  t.equal(tr.buffer.size, 0);
});

t.test("no caller context, or a malformed one: sampleRatio decides a new trace", async (t) => {
  const always = new Tracer(settings(1), "n");
  for (const incoming of [undefined, "garbage", `00-${TRACE.toUpperCase()}-${PARENT}-01`]) {
    const s = begin(always, incoming);
    t.ok(s instanceof Span, `sampled (${incoming})`);
    t.not((s as Span).traceId, TRACE);
    t.equal((s as Span).parentSpanId, undefined, "a root span");
  }
  const never = new Tracer(settings(0), "n");
  const tp = begin(never, "garbage");
  t.match(tp, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/, "unsampled: a new context the plugin can still pass on");
  let r = 0;
  const rolls = [0.05, 0.5, 0.09, 0.1];
  const tenth = new Tracer(settings(0.1), "n", () => rolls[r++]);
  t.same(
    rolls.map(() => begin(tenth) instanceof Span),
    [true, false, true, false],
    "sampled when the roll is below the ratio",
  );
});

t.test("outcomes and error codes", async (t) => {
  const tr = new Tracer(settings(1), "n");
  const cases: [number, string][] = [
    [0, "ok"],
    [ErrorCodes.PluginError, "error"],
    [ErrorCodes.RequestCancelled, "cancelled"],
    [ErrorCodes.DeadlineExceeded, "timeout"],
  ];
  for (const [code, outcome] of cases) {
    const s = begin(tr) as Span;
    tr.end(s, code);
    const v = tr.buffer.get(s.traceId)!.spans[0];
    t.equal(v.outcome, outcome);
    t.equal(v.errorCode, code === 0 ? undefined : code);
    t.ok(v.durationMs >= 0);
  }
  t.equal(tr.recorded, 4);
});

t.test("the ring buffer: bounded by traces and by spans per trace; list is newest first", async (t) => {
  const tr = new Tracer(settings(1, 3, 2), "n");
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const s = begin(tr) as Span;
    ids.push(s.traceId);
    tr.end(s, 0);
  }
  t.equal(tr.buffer.size, 3, "the two oldest traces went");
  t.equal(tr.buffer.get(ids[0]), undefined);
  t.same(
    tr.buffer.list(10).map((x) => x.traceId),
    [ids[4], ids[3], ids[2]],
  );
  t.equal(tr.buffer.list(1).length, 1);
  // A trace that gets a new span becomes the most recent, and keeps at most 2 spans.
  for (let i = 0; i < 3; i++) tr.end(begin(tr, `00-${ids[2]}-${PARENT}-01`) as Span, 0);
  t.equal(tr.buffer.list(1)[0].traceId, ids[2]);
  const view = tr.buffer.get(ids[2])!;
  t.equal(view.spans.length, 2);
  t.equal(view.droppedSpans, 2, "spans past spansPerTrace are counted");
  t.equal(tr.buffer.list(1)[0].spanCount, 4);
});

t.test("a trace summary: root, start, duration, error", async (t) => {
  const tr = new Tracer(settings(1), "n");
  const root = tr.begin(undefined, "a.relay", "http:root") as Span;
  const child = tr.begin(root.traceparent, "b.fail", "plugin:a") as Span;
  tr.end(child, ErrorCodes.PluginError);
  tr.end(root, 0);
  const [sum] = tr.buffer.list(1);
  t.match(sum, { traceId: root.traceId, root: "a.relay", spanCount: 2, error: true });
  t.ok(sum.startedAt <= child.startTime && sum.durationMs >= root.durationMs - 0.01);
  t.same(
    tr.buffer.get(root.traceId)!.spans.map((s) => s.name),
    ["a.relay", "b.fail"],
    "spans in start order",
  );
});

t.test("a reserved span: the work done first (the credential check) joins it as a child", async (t) => {
  const tr = new Tracer(settings(1), "n");
  const own = tr.reserve(`00-${TRACE}-${PARENT}-01`);
  t.match(own.traceparent, new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`), "the caller's trace, a new span id");
  const check = tr.begin(own.traceparent, "apikeys.auth.validate", "daemon:auth") as Span;
  const call = tr.begin(`00-${TRACE}-${PARENT}-01`, "echo.reverse", "http:k", own) as Span;
  t.equal(call.traceparent, own.traceparent, "the call's span is the reserved one");
  t.equal(call.parentSpanId, PARENT);
  t.equal(call.startTime, own.startTime, "it starts when it was reserved");
  t.equal(check.parentSpanId, call.spanId);
  t.equal(tr.begin(undefined, "x.y", "cli", tr.reserve(`00-${TRACE}-${PARENT}-00`)), `00-${TRACE}-${PARENT}-00`, "an unsampled caller's context goes on");
  const never = new Tracer(settings(0), "n");
  const tp = never.reserve("garbage").traceparent;
  t.match(tp, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/, "sampleRatio decides a new trace's reservation");
  t.equal(never.begin("garbage", "x.y", "cli", { traceparent: tp, startTime: 0 }), tp);
});
