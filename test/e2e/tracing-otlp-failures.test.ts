/**
 * Issue 18, bad input: an OTLP collector that is down (refuses connections) or stuck (accepts
 * and never answers). Calls keep completing; the spans that cannot be exported are dropped and
 * counted in bkg_trace_spans_dropped_total (asserted by the counter, not by timing).
 */
import { createServer } from "node:net";
import t, { type Test } from "tap";
import { echoManifest, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { api } from "../helpers/http.js";
import { startOtlpReceiver } from "../helpers/otlp-receiver.js";

const CALLS = 40;

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function counters(d: TestDaemon) {
  const m = (await api(d.httpUrl!, d.rootToken())("GET", "/metrics")).text;
  const read = (name: string) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(m)?.[1]);
  return { recorded: read("bkg_trace_spans_total"), exported: read("bkg_trace_spans_exported_total"), dropped: read("bkg_trace_spans_dropped_total") };
}

async function manyCalls(t: Test, d: TestDaemon) {
  const results = await Promise.all(Array.from({ length: CALLS }, (_, i) => d.client.call("echo.echo", { i })));
  t.same(
    results.map((r) => (r as { i: number }).i),
    Array.from({ length: CALLS }, (_, i) => i),
    `all ${CALLS} calls completed with their answers`,
  );
}

t.test("a collector that refuses connections: calls succeed, every span is counted as dropped", async (t) => {
  const endpoint = `http://127.0.0.1:${await closedPort()}/v1/traces`;
  const d = await startTestDaemon({ echo: echoManifest() }, { telemetry: { otlp: { endpoint, timeoutMs: 300, delayMs: 20, queueSize: 8, batchSize: 4 } } });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  await manyCalls(t, d);
  await d.waitFor(async () => (await counters(d)).dropped === CALLS, `all ${CALLS} spans to be counted as dropped`, 20_000);
  const c = await counters(d);
  t.equal(c.recorded, CALLS, "every call was a span");
  t.equal(c.exported, 0);
  await d.logLine("trace export to", "the daemon to warn that the export failed");
  // The daemon's own ring buffer still has the traces.
  const list = (await api(d.httpUrl!, d.rootToken())("GET", "/api/traces?limit=100")).json;
  t.equal(list.traces.length, CALLS, "bkg trace works without a collector");
});

t.test("a collector that never answers: calls succeed, spans past the queue are dropped", async (t) => {
  const stuck = await startOtlpReceiver("hang");
  t.teardown(() => stuck.close());
  const d = await startTestDaemon({ echo: echoManifest() }, { telemetry: { otlp: { endpoint: stuck.url, timeoutMs: 60_000, delayMs: 20, queueSize: 8, batchSize: 4 } } });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  // The first batch goes out and hangs; the queue (8) fills behind it; the rest are dropped.
  await manyCalls(t, d);
  await d.waitFor(() => stuck.requests > 0, "an export request to reach the stuck collector");
  await manyCalls(t, d);
  const c = await counters(d);
  t.equal(c.recorded, 2 * CALLS);
  t.ok(c.dropped >= 2 * CALLS - 8 - 2 * 4, `spans beyond the queue were dropped (${c.dropped} of ${c.recorded})`);
  t.equal(c.exported, 0, "nothing was accepted");
});
