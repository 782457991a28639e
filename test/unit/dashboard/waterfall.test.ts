/**
 * The trace waterfall's geometry (dashboard/src/app/core/waterfall.ts): row order, indentation and
 * bar positions from the spans GET /api/traces/:traceId answers.
 */
import t from "tap";
import { axisTicks, durationLabelAt, layoutWaterfall, MIN_BAR_PCT, outcomeClass, type Span } from "../../../dashboard/src/app/core/waterfall.js";

const T0 = 1_764_750_000_000;
function span(spanId: string, startOffset: number, durationMs: number, extra: Partial<Span> = {}): Span {
  return {
    spanId,
    name: `echo.${spanId}`,
    plugin: "echo",
    method: spanId,
    node: "n1",
    caller: "http",
    startTime: T0 + startOffset,
    durationMs,
    queueWaitMs: 0,
    outcome: "ok",
    ...extra,
  };
}
const order = (spans: Span[]) => layoutWaterfall(spans).rows.map((r) => `${r.span.spanId}@${r.depth}`);

t.test("a parent is above its children, each child one level deeper, whatever order the API lists them in", async (t) => {
  const root = span("root", 0, 100);
  const child = span("child", 10, 50, { parentSpanId: "root" });
  const grandchild = span("grandchild", 20, 10, { parentSpanId: "child" });
  t.same(order([grandchild, child, root]), ["root@0", "child@1", "grandchild@2"]);
  t.same(order([root, child, grandchild]), ["root@0", "child@1", "grandchild@2"]);
});

t.test("siblings and roots are ordered by start time; a subtree stays under its parent", async (t) => {
  const spans = [span("b", 50, 10, { parentSpanId: "r1" }), span("a", 5, 30, { parentSpanId: "r1" }), span("a1", 6, 2, { parentSpanId: "a" }), span("r2", 200, 10), span("r1", 0, 100)];
  t.same(order(spans), ["r1@0", "a@1", "a1@2", "b@1", "r2@0"]);
});

t.test("bars are placed by start and duration as percentages of the whole trace", async (t) => {
  const w = layoutWaterfall([span("root", 0, 200), span("child", 50, 100, { parentSpanId: "root", queueWaitMs: 25 })]);
  t.equal(w.startTime, T0);
  t.equal(w.totalMs, 200);
  const [root, child] = w.rows;
  t.match(root, { leftPct: 0, widthPct: 100, offsetMs: 0, queuePct: 0, orphan: false });
  t.match(child, { leftPct: 25, widthPct: 50, offsetMs: 50, queuePct: 25, orphan: false });
});

t.test("the trace's span runs to the latest end, even when a child outlives its parent", async (t) => {
  const w = layoutWaterfall([span("root", 0, 10), span("late", 5, 95, { parentSpanId: "root" })]);
  t.equal(w.totalMs, 100);
  t.equal(w.rows[0].widthPct, 10);
  t.equal(w.rows[1].leftPct, 5);
  t.equal(w.rows[1].widthPct, 95);
});

t.test("a 0 ms span still gets a visible bar that stays inside the chart", async (t) => {
  const w = layoutWaterfall([span("root", 0, 100), span("instant", 100, 0, { parentSpanId: "root" })]);
  const instant = w.rows[1];
  t.equal(instant.widthPct, MIN_BAR_PCT);
  t.ok(instant.leftPct + instant.widthPct <= 100, "not past the right edge");
  t.equal(instant.queuePct, 0, "no queue share of a 0 ms bar");
  const alone = layoutWaterfall([span("only", 0, 0)]);
  t.ok(alone.totalMs > 0, "a trace of one instant call still has a scale");
  t.match(alone.rows[0], { leftPct: 0, widthPct: MIN_BAR_PCT });
});

t.test("a span whose parent is not in the trace is shown at the top level, flagged", async (t) => {
  const w = layoutWaterfall([span("root", 0, 100), span("stray", 10, 10, { parentSpanId: "elsewhere" })]);
  t.same(
    w.rows.map((r) => [r.span.spanId, r.depth, r.orphan]),
    [
      ["root", 0, false],
      ["stray", 0, true],
    ],
  );
});

t.test("bad data cannot hang or hide: parent loops, self-parents, duplicate ids, queue waits longer than the call", async (t) => {
  const loop = order([span("a", 0, 10, { parentSpanId: "b" }), span("b", 1, 5, { parentSpanId: "a" })]);
  t.same(loop, ["a@0", "b@1"], "a loop is broken at the earliest span");
  t.same(order([span("self", 0, 10, { parentSpanId: "self" })]), ["self@0"]);
  t.equal(layoutWaterfall([span("dup", 0, 10), span("dup", 5, 10)]).rows.length, 1, "a duplicate id is shown once");
  t.equal(layoutWaterfall([span("q", 0, 10, { queueWaitMs: 50 })]).rows[0].queuePct, 100, "the queued share is capped at the bar");
  t.same(layoutWaterfall([]), { rows: [], startTime: 0, totalMs: 0.001 }, "no spans, no rows");
});

t.test("axis ticks are round numbers from 0 to the trace's end", async (t) => {
  t.same(
    axisTicks(100).map((x) => x.ms),
    [0, 20, 40, 60, 80, 100],
  );
  t.same(
    axisTicks(7).map((x) => x.ms),
    [0, 2, 4, 6],
  );
  const small = axisTicks(0.3);
  t.same(
    small.map((x) => x.ms),
    [0, 0.1, 0.2, 0.3],
    "no 0.30000000000000004",
  );
  t.equal(axisTicks(100)[5].pct, 100);
  t.ok(axisTicks(12345).length <= 7, "about five ticks");
});

t.test("every outcome has a colour; an unknown one gets the neutral one", async (t) => {
  t.match(outcomeClass("ok"), /emerald/);
  t.match(outcomeClass("error"), /red/);
  t.match(outcomeClass("timeout"), /amber/);
  t.match(outcomeClass("cancelled"), /slate/);
  t.match(outcomeClass("something-new"), /slate/);
});

t.test("a bar's duration label stays inside the chart: after the bar, before it, or inside it", async (t) => {
  t.same(durationLabelAt({ leftPct: 10, widthPct: 20 }), { pct: 30, place: "after" });
  t.same(durationLabelAt({ leftPct: 50, widthPct: 45 }), { pct: 50, place: "before" });
  t.same(durationLabelAt({ leftPct: 0, widthPct: 100 }), { pct: 100, place: "inside" });
});
