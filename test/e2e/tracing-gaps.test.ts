/**
 * Issue 18, the last gaps: the `traceresponse` header on HTTP calls (W3C Trace Context Level 2),
 * a WebSocket caller labelled `ws:<credential>`, and the daemon's call to the auth plugin on a
 * request's behalf joining that request's trace as a child of its span (HTTP's fast path and
 * fastify routes, WebSocket, gRPC). auth.cacheTtlMs 0: every API-key request asks the plugin.
 */
import * as grpc from "@grpc/grpc-js";
import t, { type Test } from "tap";
import type { SpanView, TraceView } from "../../src/tracing/index.js";
import { apikeysManifest, echoManifest, startTestDaemon } from "../helpers/daemon.js";
import { Bus } from "../helpers/grpc.js";
import { api } from "../helpers/http.js";
import { WsClient } from "../helpers/ws.js";

const PARENT = "00f067aa0ba902b7";
const TRACERESPONSE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;
const sampled = (c: string) => `00-${c.repeat(32)}-${PARENT}-01`;

t.test("traceresponse, ws: callers, and the auth plugin's call in the request's trace", async (t) => {
  const d = await startTestDaemon(
    { apikeys: apikeysManifest(), echo: echoManifest() },
    { auth: { cacheTtlMs: 0 }, grpc: { enabled: true, port: 0 }, http: { rateLimit: { perCredential: 100000, perIp: 100000 } } },
  );
  t.teardown(() => d.stop());
  await d.waitState("apikeys", "ready");
  await d.waitState("echo", "ready");
  const asRoot = api(d.httpUrl!, d.rootToken());
  const made = (await asRoot("POST", "/api/keys", { body: { name: "tracer", role: "operator", scopes: ["echo.*"] } })).json as { id: string; key: string };
  t.ok(made.key, "an API key");
  const asKey = api(d.httpUrl!, made.key);
  const traceOf = async (id: string) => (await asRoot("GET", `/api/traces/${id}`)).json as TraceView;
  const named = (trace: TraceView, name: string) => trace.spans.find((s) => s.name === name) as SpanView;

  /** The request's span and the auth plugin's: the check is a child of the request's span. */
  const checkJoined = async (t: Test, traceId: string, request: string, caller: string, parent: string | undefined) => {
    const trace = await traceOf(traceId);
    const call = named(trace, request);
    const check = named(trace, "apikeys.auth.validate");
    t.match(call, { caller, outcome: "ok", ...(parent ? { parentSpanId: parent } : {}) }, `${request}: the request's span`);
    if (!parent) t.equal(call.parentSpanId, undefined, `${request}: a root span`);
    t.match(check, { parentSpanId: call.spanId, caller: "daemon:auth", outcome: "ok" }, "the credential check is a child of the request's span");
    t.ok(call.startTime <= check.startTime, "the request's span starts before the check it contains");
    const [summary] = ((await asRoot("GET", "/api/traces?limit=50")).json.traces as { traceId: string; root: string; spanCount: number }[]).filter((x) => x.traceId === traceId);
    t.match(summary, { root: request, spanCount: 2 }, "the trace's root is the request");
    return call;
  };

  t.test("HTTP (fast path): traceresponse names the request's span; the check joins its trace", async (t) => {
    const r = await asKey("POST", "/api/call/echo/reverse", { body: { text: "abc" }, headers: { traceparent: sampled("a") } });
    t.equal(r.status, 200, r.text);
    const tr = TRACERESPONSE.exec(r.headers.get("traceresponse") ?? "");
    t.ok(tr, `traceresponse: ${r.headers.get("traceresponse")}`);
    t.equal(tr![1], "a".repeat(32), "the caller's trace");
    const call = await checkJoined(t, "a".repeat(32), "echo.reverse", `http:${made.id}`, PARENT);
    t.equal(tr![2], call.spanId, "its span id is the daemon's span for the call");
  });

  t.test("HTTP without a traceparent: a new trace, told in traceresponse, the check inside it", async (t) => {
    const r = await asKey("POST", "/api/call/echo/reverse", { body: { text: "abc" } });
    t.equal(r.status, 200, r.text);
    const tr = TRACERESPONSE.exec(r.headers.get("traceresponse") ?? "")!;
    t.ok(tr, "traceresponse");
    t.equal(tr[0].slice(53), "01", "sampled (sampleRatio 1)");
    const call = await checkJoined(t, tr[1], "echo.reverse", `http:${made.id}`, undefined);
    t.equal(call.spanId, tr[2]);
  });

  t.test("HTTP through fastify (an event stream): the same header and the same joined trace", async (t) => {
    const r = await asKey("POST", "/api/call/echo/reverse", { body: { text: "abc" }, headers: { traceparent: sampled("b"), accept: "text/event-stream" } });
    t.equal(r.status, 200, r.text);
    const tr = TRACERESPONSE.exec(r.headers.get("traceresponse") ?? "")!;
    t.ok(tr, `traceresponse: ${r.headers.get("traceresponse")}`);
    t.equal(tr[1], "b".repeat(32));
    const call = await checkJoined(t, "b".repeat(32), "echo.reverse", `http:${made.id}`, PARENT);
    t.equal(call.spanId, tr[2]);
  });

  t.test("bad input: a malformed traceparent gets a new trace, and traceresponse says which", async (t) => {
    const r = await asRoot("POST", "/api/call/echo/reverse", { body: { text: "abc" }, headers: { traceparent: `00-${"A".repeat(32)}-${PARENT}-01` } });
    t.equal(r.status, 200, r.text);
    const tr = TRACERESPONSE.exec(r.headers.get("traceresponse") ?? "")!;
    t.ok(tr, "traceresponse");
    t.not(tr[1], "a".repeat(32));
    t.match(named(await traceOf(tr[1]), "echo.reverse"), { spanId: tr[2], caller: "http:root" }, "the new trace holds the call (root token: no auth plugin call)");
  });

  t.test("a call that fails answers traceresponse too", async (t) => {
    const r = await asKey("POST", "/api/call/echo/fail", { body: { code: -33010 }, headers: { traceparent: sampled("f") } });
    t.equal(r.status, 502, r.text);
    const tr = TRACERESPONSE.exec(r.headers.get("traceresponse") ?? "")!;
    t.ok(tr, `traceresponse: ${r.headers.get("traceresponse")}`);
    t.match(named(await traceOf("f".repeat(32)), "echo.fail"), { spanId: tr[2], outcome: "error", errorCode: -33010 });
  });

  t.test("an unsampled caller: traceresponse is its own context, passed on unchanged", async (t) => {
    const tp = `00-${"c".repeat(32)}-${PARENT}-00`;
    const r = await asKey("POST", "/api/call/echo/reverse", { body: { text: "abc" }, headers: { traceparent: tp } });
    t.equal(r.status, 200, r.text);
    t.equal(r.headers.get("traceresponse"), tp);
    t.equal((await asRoot("GET", `/api/traces/${"c".repeat(32)}`)).status, 404, "nothing recorded, the check neither");
  });

  t.test("WebSocket: the caller is ws:<credential>; each call's check joins the call's trace", async (t) => {
    const ws = await WsClient.open(`${d.httpUrl!.replace(/^http/, "ws")}/ws/plugins`, { authorization: `Bearer ${made.key}` });
    t.teardown(() => ws.close());
    ws.send({ action: "CALL", id: 1, method: "echo.reverse", params: { text: "abc" }, traceparent: sampled("d") });
    const m = await ws.next((m) => m.id === 1, "WS answer");
    t.equal(m.type, "result", JSON.stringify(m));
    await checkJoined(t, "d".repeat(32), "echo.reverse", `ws:${made.id}`, PARENT);
  });

  t.test("gRPC: the check joins the call's trace", async (t) => {
    const bus = new Bus(d.grpcAddress!, grpc.credentials.createInsecure());
    t.teardown(() => bus.close());
    await new Promise<void>((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${made.key}`);
      md.set("traceparent", sampled("e"));
      bus.Call({ method: "echo.reverse", paramsJson: '{"text":"abc"}', timeoutMs: 0 }, md, {}, (err: grpc.ServiceError | null) => (err ? reject(err) : resolve()));
    });
    await checkJoined(t, "e".repeat(32), "echo.reverse", `grpc:${made.id}`, PARENT);
  });
});
