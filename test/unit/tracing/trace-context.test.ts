/** W3C traceparent parsing (@bkg/protocol) and the daemon's ids: every malformed value is ignored, never an error. */
import t from "tap";
import { formatTraceparent, MAX_TRACEPARENT_LENGTH, parseTraceparent, validTraceparent } from "@bkg/protocol";
import { newSpanId, newTraceAndSpanIds, newTraceId, newTraceparent } from "../../../src/tracing/index.js";

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

t.test("newTraceparent: a new span, in a new trace or the caller's", async (t) => {
  const fresh = newTraceparent(true);
  t.ok(validTraceparent(fresh) && fresh.endsWith("-01"), fresh);
  t.ok(newTraceparent(false).endsWith("-00"));
  const child = newTraceparent(true, TP);
  t.equal(child.slice(0, 36), TP.slice(0, 36), "the caller's trace id");
  t.not(child.slice(36, 52), SPAN, "a new span id");
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) seen.add(newTraceparent(true));
  t.equal(seen.size, 1000, "distinct across pool refills");
});

t.test("validTraceparent (a char-code loop) agrees with the W3C rules written as a regular expression", async (t) => {
  // The rules as they were checked before the loop replaced the expression (docs/benchmarks.md, cluster).
  const shape = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}/;
  const reference = (v: string) => {
    if (v.length < 55 || v.length > MAX_TRACEPARENT_LENGTH || !shape.test(v)) return false;
    const version = v.slice(0, 2);
    if (version === "ff") return false;
    if (version === "00" ? v.length !== 55 : v.length > 55 && v[55] !== "-") return false;
    return !v.startsWith("0".repeat(32), 3) && !v.startsWith("0".repeat(16), 36);
  };
  // Mutations of valid values: one character replaced (by hex, uppercase, a dash, "0", a non-ASCII
  // character whose low byte is a hex digit), ids zeroed, versions changed, characters appended.
  const chars = ["0", "1", "9", "a", "f", "g", "A", "F", "-", "_", " ", "\u0130", "\u0161", "\u{1F600}"];
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const disagree: string[] = [];
  let valid = 0;
  for (let i = 0; i < 20_000; i++) {
    let v = newTraceparent(rand(2) === 0);
    const kind = rand(6);
    if (kind === 0) {
      const at = rand(v.length);
      v = v.slice(0, at) + chars[rand(chars.length)] + v.slice(at + 1);
    } else if (kind === 1) v = rand(2) ? `${v.slice(0, 3)}${"0".repeat(32)}${v.slice(35)}` : `${v.slice(0, 36)}${"0".repeat(16)}${v.slice(52)}`;
    else if (kind === 2) v = ["01", "ff", "fe", "cc", "0A"][rand(5)] + v.slice(2);
    else if (kind === 3) v += ["-x", "x", "-", "-00-aa"][rand(4)];
    else if (kind === 4) v = ["01", "cc", "00"][rand(3)] + v.slice(2) + ["-x", "x", ""][rand(3)];
    if (validTraceparent(v)) valid++;
    if (validTraceparent(v) !== reference(v)) disagree.push(v);
  }
  t.same(disagree.slice(0, 5), [], "no value where the two disagree");
  t.ok(valid > 2000 && valid < 18_000, `both valid and invalid values were tried (${valid} valid)`);
});
