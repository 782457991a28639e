/** W3C traceparent parsing (@bkg/protocol) and the daemon's ids: every malformed value is ignored, never an error. */
import t from "tap";
import { formatTraceparent, MAX_TRACEPARENT_LENGTH, parseTraceparent, validTraceparent } from "@bkg/protocol";
import { newSpanId, newTraceAndSpanIds, newTraceId } from "../../../src/tracing/index.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";
const TP = `00-${TRACE}-${SPAN}-01`;

t.test("a valid traceparent", async (t) => {
  t.same(parseTraceparent(TP), { traceId: TRACE, spanId: SPAN, traceparent: TP, sampled: true });
  t.equal(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.sampled, false);
  t.equal(parseTraceparent(`00-${TRACE}-${SPAN}-03`)?.sampled, true, "the sampled bit, whatever else the flags hold");
  t.equal(parseTraceparent(`00-${TRACE}-${SPAN}-02`)?.sampled, false);
  t.ok(validTraceparent(`01-${TRACE}-${SPAN}-01`), "a later version of exactly 55 characters");
  t.ok(validTraceparent(`cc-${TRACE}-${SPAN}-01-what-comes-next`), "a later version with more fields after a dash");
  t.equal(formatTraceparent(TRACE, SPAN, true), TP);
  t.equal(formatTraceparent(TRACE, SPAN, false), `00-${TRACE}-${SPAN}-00`);
});

t.test("malformed or oversized: undefined, never a throw", async (t) => {
  const bad: unknown[] = [
    undefined,
    null,
    42,
    {},
    "",
    "garbage",
    TP.toUpperCase(),
    TP.slice(0, 54),
    `${TP}-extra`,
    `${TP}0`,
    `ff-${TRACE}-${SPAN}-01`,
    `00-${"0".repeat(32)}-${SPAN}-01`,
    `00-${TRACE}-${"0".repeat(16)}-01`,
    `00_${TRACE}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-0g`,
    `01-${TRACE}-${SPAN}-01x`,
    ` ${TP}`.slice(0, 55),
    `cc-${TRACE}-${SPAN}-01-${"a".repeat(MAX_TRACEPARENT_LENGTH)}`,
    "x".repeat(1_000_000),
  ];
  for (const v of bad) {
    t.equal(parseTraceparent(v), undefined, `${JSON.stringify(v)?.slice(0, 70)}`);
    t.notOk(validTraceparent(v));
  }
});

t.test("ids: lowercase hex of the right length, never all zeros, distinct", async (t) => {
  const traces = new Set<string>();
  const spans = new Set<string>();
  // More than one pool refill (4096 bytes = 512 span ids).
  const wrong: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const tr = newTraceId();
    const sp = newSpanId();
    if (!/^[0-9a-f]{32}$/.test(tr) || tr === "0".repeat(32)) wrong.push(tr);
    if (!/^[0-9a-f]{16}$/.test(sp) || sp === "0".repeat(16)) wrong.push(sp);
    traces.add(tr);
    spans.add(sp);
  }
  t.same(wrong, [], "every id is lowercase hex of its length and not all zeros");
  t.equal(traces.size, 2000);
  t.equal(spans.size, 2000);
  t.ok(validTraceparent(formatTraceparent(newTraceId(), newSpanId(), true)));
  const both = newTraceAndSpanIds();
  t.match(both, /^[0-9a-f]{48}$/, "a new trace's ids in one string: trace id then span id");
  t.ok(validTraceparent(`00-${both.slice(0, 32)}-${both.slice(32)}-01`));
});
