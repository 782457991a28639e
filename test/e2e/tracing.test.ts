/**
 * Issue 18 item 1: traces. HTTP -> plugin a (TypeScript echo) -> bkg/call -> plugin py (Python)
 * makes one trace with parent/child spans: in GET /api/traces/:id, in `bkg trace ID --json`, and
 * at an OTLP/HTTP receiver on loopback. A malformed or oversized traceparent on HTTP, the socket,
 * WebSocket and gRPC is ignored (a new trace, the call succeeds).
 */
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import t, { type Test } from "tap";
import type { TraceView } from "../../src/tracing/index.js";
import { echoManifest, ROOT, startTestDaemon } from "../helpers/daemon.js";
import { Bus } from "../helpers/grpc.js";
import { api } from "../helpers/http.js";
import { startOtlpReceiver } from "../helpers/otlp-receiver.js";
import { WsClient } from "../helpers/ws.js";

const PROBE = join(ROOT, "test", "fixtures", "plugins", "trace_probe.py");
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const SAMPLED = `00-${TRACE}-${PARENT}-01`;
const MALFORMED = ["garbage", `00-${TRACE.toUpperCase()}-${PARENT}-01`, `00-${"0".repeat(32)}-${PARENT}-01`, `00-${TRACE}-${PARENT}-01-extra`];
const OVERSIZED = `00-${TRACE}-${PARENT}-01-${"a".repeat(8000)}`;

interface ProbeTrace {
  traceId: string;
  spanId: string;
  sampled: boolean;
  traceparent: string;
}

t.test("one trace across HTTP, a TypeScript plugin and a Python plugin", async (t) => {
  const otlp = await startOtlpReceiver();
  t.teardown(() => otlp.close());
  const d = await startTestDaemon(
    {
      a: echoManifest("a", { permissions: ["py.*", "a.*"] }),
      py: { name: "py", version: "1.0.0", command: ["python3", PROBE], provides: ["trace", "relay"], permissions: ["a.*"] },
    },
    { grpc: { enabled: true, port: 0 }, telemetry: { otlp: { endpoint: otlp.url, delayMs: 50 } } },
  );
  t.teardown(() => d.stop());
  await d.waitState("a", "ready");
  await d.waitState("py", "ready");
  const root = d.rootToken();
  const http = api(d.httpUrl!, root);
  const traceOf = async (id: string) => (await http("GET", `/api/traces/${id}`)).json as TraceView;

  t.test("HTTP -> a.relay -> bkg/call -> py.trace: one trace, parent and child", async (t) => {
    const r = await http("POST", "/api/call/a/relay", { body: { method: "py.trace" }, headers: { traceparent: SAMPLED } });
    t.equal(r.status, 200, r.text);
    const seen = r.json.result.trace as ProbeTrace;
    t.equal(seen.traceId, TRACE, "the Python plugin sees the caller's trace id (ctx.trace)");
    t.equal(seen.sampled, true);

    const trace = await traceOf(TRACE);
    t.equal(trace.traceId, TRACE);
    t.equal(trace.spans.length, 2, "a span per routed call");
    const [relay, probe] = trace.spans;
    t.match(relay, { name: "a.relay", plugin: "a", method: "relay", parentSpanId: PARENT, caller: "http:root", outcome: "ok", instance: /^a#\d+@\d+$/ });
    t.match(probe, { name: "py.trace", plugin: "py", method: "trace", parentSpanId: relay.spanId, caller: "plugin:a", outcome: "ok", instance: /^py#\d+@\d+$/ });
    t.equal(seen.spanId, probe.spanId, "the plugin's ctx.trace.spanId is its own call's span");
    t.equal(relay.node, probe.node);
    t.ok(relay.startTime <= probe.startTime && probe.durationMs <= relay.durationMs, "the child runs inside its parent");
    t.ok(relay.queueWaitMs >= 0 && typeof relay.startTime === "number");

    const cli = await d.cli(["trace", TRACE, "--json"]);
    t.equal(cli.code, 0, cli.stderr);
    t.same(JSON.parse(cli.stdout), trace, "bkg trace ID --json prints what GET /api/traces/:id answers");
    const tree = await d.cli(["trace", TRACE]);
    t.match(tree.stdout, /^trace 4bf92f3577b34da6a3ce929d0e0e4736: 2 spans/);
    t.match(tree.stdout, /\na\.relay .*\n└─ py\.trace .*from plugin:a/, "the tree shows py.trace under a.relay");

    const list = await http("GET", "/api/traces?limit=5");
    t.match(list.json.traces[0], { traceId: TRACE, root: "a.relay", spanCount: 2, error: false });
    const cliList = await d.cli(["trace", "list", "--json"]);
    t.match(JSON.parse(cliList.stdout).traces[0], { traceId: TRACE, root: "a.relay" });

    await d.waitFor(() => otlp.spans.filter((s) => s.traceId === TRACE).length >= 2, "the OTLP receiver to get both spans", 15_000);
    const exported = otlp.spans.filter((s) => s.traceId === TRACE);
    const eRelay = exported.find((s) => s.name === "a.relay")!;
    const eProbe = exported.find((s) => s.name === "py.trace")!;
    t.match(eRelay, { spanId: relay.spanId, parentSpanId: PARENT, serviceName: "bkg", attributes: { "bkg.plugin": "a", "bkg.method": "relay", "bkg.outcome": "ok", "bkg.caller": "http:root" } });
    t.match(eProbe, { spanId: probe.spanId, parentSpanId: relay.spanId, attributes: { "bkg.plugin": "py", "bkg.caller": "plugin:a" } });
  });

  t.test("the Python SDK passes the trace on: HTTP -> a.relay -> py.relay -> a.echo, three spans in a chain", async (t) => {
    const r = await http("POST", "/api/call/a/relay", { body: { method: "py.relay", params: { method: "a.echo", params: { x: 1 } } } });
    t.equal(r.status, 200, r.text);
    const seen = r.json.result.trace as ProbeTrace;
    t.match(seen.traceId, /^[0-9a-f]{32}$/, "no traceparent from the client: the daemon started a trace");
    const spans = (await traceOf(seen.traceId)).spans;
    t.same(
      spans.map((s) => s.name),
      ["a.relay", "py.relay", "a.echo"],
    );
    t.notOk(spans[0].parentSpanId, "the first span is the root");
    t.equal(spans[1].parentSpanId, spans[0].spanId);
    t.equal(spans[2].parentSpanId, spans[1].spanId, "the Python plugin's bkg/call is a child of its own span");
    t.equal(spans[2].caller, "plugin:py");
  });

  t.test("an error and a timeout are spans with their outcome and code", async (t) => {
    const tp = `00-${"b".repeat(32)}-${PARENT}-01`;
    const r = await http("POST", "/api/call/a/fail", { body: { code: -33010 }, headers: { traceparent: tp } });
    t.equal(r.status, 502);
    t.match((await traceOf("b".repeat(32))).spans[0], { name: "a.fail", outcome: "error", errorCode: -33010 });
    const tp2 = `00-${"c".repeat(32)}-${PARENT}-01`;
    const slow = await http("POST", "/api/call/a/sleep?timeoutMs=50", { body: { ms: 5000 }, headers: { traceparent: tp2 } });
    t.equal(slow.status, 504);
    t.match((await traceOf("c".repeat(32))).spans[0], { name: "a.sleep", outcome: "timeout", errorCode: -33001 });
    const list = await http("GET", "/api/traces");
    t.ok(list.json.traces.some((x: { traceId: string; error: boolean }) => x.traceId === "b".repeat(32) && x.error));
  });

  t.test("an unsampled caller: its traceparent goes on unchanged, nothing is recorded", async (t) => {
    const tp = `00-${"d".repeat(32)}-${PARENT}-00`;
    const r = await http("POST", "/api/call/py/trace", { body: {}, headers: { traceparent: tp } });
    t.equal(r.json.result.traceparent, tp);
    t.equal(r.json.result.trace.sampled, false);
    const missing = await http("GET", `/api/traces/${"d".repeat(32)}`);
    t.equal(missing.status, 404);
    t.match(missing.json.error, { code: -32601, message: /no trace d{32} on this daemon/ });
  });

  t.test("bad input: a malformed or oversized traceparent starts a new trace on every surface", async (t) => {
    // Each surface's call lands in py.trace; what py sees must be a fresh, valid, sampled trace.
    const fresh = async (t: Test, what: string, bad: string, seen: { trace: ProbeTrace | null; traceparent: string }) => {
      t.ok(seen.trace, `${what}: py got a trace context (${bad.slice(0, 40)})`);
      t.not(seen.traceparent, bad, `${what}: the bad value was not passed on`);
      t.not(seen.trace!.traceId, TRACE, `${what}: a new trace id`);
      t.equal((await traceOf(seen.trace!.traceId)).spans[0].name, "py.trace", `${what}: the new trace is recorded`);
    };
    for (const bad of [...MALFORMED, OVERSIZED]) {
      const r = await http("POST", "/api/call/py/trace", { body: {}, headers: { traceparent: bad } });
      t.equal(r.status, 200, `HTTP: the call succeeds (${r.text.slice(0, 200)})`);
      await fresh(t, "HTTP", bad, r.json.result);

      const s = (await d.client.call("py.trace", {}, { traceparent: bad })) as { trace: ProbeTrace; traceparent: string };
      await fresh(t, "socket", bad, s);
    }

    const ws = await WsClient.open(`${d.httpUrl!.replace(/^http/, "ws")}/ws/plugins`, { authorization: `Bearer ${root}` });
    t.teardown(() => ws.close());
    let id = 0;
    for (const bad of [...MALFORMED, OVERSIZED, 42]) {
      id++;
      ws.send({ action: "CALL", id, method: "py.trace", params: {}, traceparent: bad });
      const m = await ws.next((m) => m.id === id, `WS answer ${id}`);
      t.equal(m.type, "result", `WS: the call succeeds (${JSON.stringify(m).slice(0, 200)})`);
      await fresh(t, "WS", String(bad), m.payload);
    }
    ws.send({ action: "CALL", id: 100, method: "py.trace", params: {}, traceparent: SAMPLED });
    t.equal((await ws.next((m) => m.id === 100, "WS answer")).payload.trace.traceId, TRACE, "WS: a valid traceparent is joined");

    const bus = new Bus(d.grpcAddress!, grpc.credentials.createInsecure());
    t.teardown(() => bus.close());
    const grpcCall = (traceparent: string) =>
      new Promise<{ trace: ProbeTrace; traceparent: string }>((resolve, reject) => {
        const md = new grpc.Metadata();
        md.set("authorization", `Bearer ${root}`);
        md.set("traceparent", traceparent);
        bus.Call({ method: "py.trace", paramsJson: "{}", timeoutMs: 0 }, md, {}, (err: grpc.ServiceError | null, res: { resultJson: string }) =>
          err ? reject(err) : resolve(JSON.parse(res.resultJson)),
        );
      });
    for (const bad of [...MALFORMED, OVERSIZED]) await fresh(t, "gRPC", bad, await grpcCall(bad));
    t.equal((await grpcCall(SAMPLED)).trace.traceId, TRACE, "gRPC: a valid traceparent in the metadata is joined");
  });

  t.test("GET /api/traces/:id refuses what is not a trace id; bkg trace says so too", async (t) => {
    const r = await http("GET", "/api/traces/not-a-trace");
    t.equal(r.status, 400);
    t.match(r.json.error.message, /32 hex digits/);
    const cli = await d.cli(["trace", "xyz"]);
    t.equal(cli.code, 2);
    t.match(cli.stderr, /not a trace id/);
    const limit = await http("GET", "/api/traces?limit=0");
    t.equal(limit.status, 400);
  });

  t.test("/metrics counts the spans", async (t) => {
    const m = (await http("GET", "/metrics")).text;
    const recorded = Number(/^bkg_trace_spans_total (\d+)/m.exec(m)?.[1]);
    t.ok(recorded >= 5, `bkg_trace_spans_total ${recorded}`);
    t.match(m, /^bkg_trace_spans_exported_total \d+/m);
    t.match(m, /^bkg_trace_spans_dropped_total 0$/m, "nothing dropped with a collector that answers");
  });
});
