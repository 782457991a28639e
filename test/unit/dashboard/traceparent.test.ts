/** The traceparent the dashboard sends with a call it starts (dashboard/src/app/core/traceparent.ts). */
import t from "tap";
import { parseTraceparent } from "@bkg/protocol";
import { startTrace } from "../../../dashboard/src/app/core/traceparent.js";

t.test("a valid, sampled W3C traceparent the daemon accepts, new each time", async (t) => {
  const a = startTrace();
  const b = startTrace();
  t.match(a.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  t.equal(a.traceparent, `00-${a.traceId}-${a.spanId}-01`);
  t.match(parseTraceparent(a.traceparent), { traceId: a.traceId }, "the daemon's own parser takes it");
  t.not(a.traceId, b.traceId, "a new trace per call");
});

t.test("all-zero ids (the spec's invalid value) are never sent", async (t) => {
  const zeros = startTrace((bytes) => bytes.fill(0));
  t.equal(zeros.traceId, `${"0".repeat(31)}1`);
  t.equal(zeros.spanId, `${"0".repeat(15)}1`);
  t.ok(parseTraceparent(zeros.traceparent), "still valid for the daemon");
});
