/** bkg trace ID's tree: children under their parent, an orphan as a root of its own. */
import t from "tap";
import { traceTree } from "../../../src/cli/trace-tree.js";
import type { SpanView } from "../../../src/tracing/index.js";

const span = (spanId: string, name: string, startTime: number, durationMs: number, parentSpanId?: string, extra: Partial<SpanView> = {}): SpanView => ({
  spanId,
  parentSpanId,
  name,
  plugin: name.split(".")[0],
  method: name.split(".")[1],
  node: "n1",
  caller: "cli",
  startTime,
  durationMs,
  queueWaitMs: 0,
  outcome: "ok",
  ...extra,
});

t.test("a tree with durations and outcomes", async (t) => {
  const lines = traceTree({
    traceId: "a".repeat(32),
    spans: [
      span("1", "a.relay", 1000, 12.5, "f00", { instance: "a#1@42" }),
      span("2", "b.one", 1001, 3, "1"),
      span("3", "c.deep", 1002, 1, "2", { outcome: "error", errorCode: -33010 }),
      span("4", "b.two", 1005, 2, "1", { node: "n2" }),
    ],
  });
  t.equal(lines[0], `trace ${"a".repeat(32)}: 4 spans, 12.5 ms`);
  t.match(lines[1], /^a\.relay {2}12\.5 ms {2}ok {2}\+0\.00 ms {2}a#1@42 {2}from cli {2}on n1$/);
  t.match(lines[2], /^├─ b\.one {2}3\.00 ms {2}ok {2}\+1\.00 ms/);
  t.match(lines[3], /^│ {2}└─ c\.deep {2}1\.00 ms {2}error -33010/);
  t.match(lines[4], /^└─ b\.two .* on n2$/);
  t.equal(lines.length, 5);
});
