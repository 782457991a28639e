/** Rate limiter, HTTP error mapping, gRPC status mapping and WebSocket message parsing, without servers. */
import t from "tap";
import * as grpc from "@grpc/grpc-js";
import { BkgError, ErrorCodes } from "@bkg/protocol";
import { grpcStatusOf } from "../../../src/gateway/grpc-server.js";
import { HttpError, toHttpError } from "../../../src/gateway/http-errors.js";
import { parseJsonBody } from "../../../src/gateway/http-call-common.js";
import { Metrics, outcomeOf } from "../../../src/gateway/metrics.js";
import { RateLimiter } from "../../../src/gateway/rate-limiter.js";
import { parseClientMessage } from "../../../src/gateway/ws-messages.js";

t.test("RateLimiter: per key, fixed window, 0 is off, retry-after in seconds", async (t) => {
  const l = new RateLimiter({ perCredential: 3, perIp: 1, windowMs: 60_000 });
  t.equal(l.take("cred:a"), undefined);
  t.equal(l.take("cred:a"), undefined);
  t.equal(l.take("cred:a"), undefined);
  const e = l.take("cred:a");
  t.match(e, { code: ErrorCodes.Overloaded, data: { reason: "rate_limited", limit: 3, retryAfterSeconds: Number } });
  t.ok(e!.data && (e!.data as { retryAfterSeconds: number }).retryAfterSeconds <= 60);
  t.equal(l.take("cred:b"), undefined, "another credential has its own budget");
  t.equal(l.take("ip:1.2.3.4"), undefined);
  t.ok(l.take("ip:1.2.3.4"), "addresses have their own limit");
  const off = new RateLimiter({ perCredential: 0, perIp: 0, windowMs: 1000 });
  for (let i = 0; i < 1000; i++) t.equal(off.take("cred:x"), undefined);
  const shortWindow = new RateLimiter({ perCredential: 1, perIp: 1, windowMs: 1000 });
  shortWindow.take("cred:z");
  t.ok(shortWindow.take("cred:z"));
  await new Promise((r) => setTimeout(r, 1050));
  t.equal(shortWindow.take("cred:z"), undefined, "a new window starts");
  const h = l.hit("cred:b");
  t.equal(h.current, 2, "hit counts and says how many so far");
  t.ok(h.ttl > 0 && h.ttl <= 60_000, "and the ms left in the window");
});

t.test("parseJsonBody: JSON.parse, with fastify's refusals (empty, broken, prototype poisoning) as 400 -32700", async (t) => {
  const parse = (text: string) => {
    let out: { err: Error | null; value?: unknown } | undefined;
    parseJsonBody({} as never, text, (err, value) => (out = { err, value }));
    return out!;
  };
  t.same(parse('{"text":"a","constructor":"x","n":[1,{"b":null}]}'), { err: null, value: { text: "a", constructor: "x", n: [1, { b: null }] } });
  t.same(parse("[1,2]").value, [1, 2], "any JSON value parses (the router says what it accepts)");
  const refused = (text: string, message: RegExp) => {
    const { err } = parse(text);
    t.ok(err instanceof HttpError, `${text} is refused`);
    t.match(toHttpError(err), { status: 400, body: { error: { code: ErrorCodes.ParseError, name: "ParseError", message } } });
  };
  refused("", /the body is empty but Content-Type says JSON/);
  refused("{nope", /^the body is not valid JSON: /);
  refused('{"__proto__":{"admin":true}}', /forbidden prototype property/);
  refused('{"a":[{"b":{"__proto__":{}}}]}', /forbidden prototype property/);
  refused('{"\\u005f_proto__":{"admin":true}}', /forbidden prototype property/);
  refused('{"constructor":{"prototype":{"admin":true}}}', /forbidden prototype property/);
  t.equal(parse('{"constructor":{"name":"x"}}').err, null, "a constructor without prototype is fine, as in fastify");
  t.equal(parse(Buffer.from('{"a":1}') as never).err, null, "a Buffer body too");
});

t.test("toHttpError: ERROR_TABLE statuses, plugin codes 502, fastify's own errors", async (t) => {
  const s = (e: unknown) => toHttpError(e, 4096).status;
  t.equal(s(new BkgError(ErrorCodes.MethodNotFound, "x")), 404);
  t.equal(s(new BkgError(ErrorCodes.InvalidParams, "x")), 400);
  t.equal(s(new BkgError(ErrorCodes.Unauthenticated, "x")), 401);
  t.equal(s(new BkgError(ErrorCodes.PermissionDenied, "x")), 403);
  t.equal(s(new BkgError(ErrorCodes.Overloaded, "x")), 429);
  t.equal(s(new BkgError(ErrorCodes.PluginUnavailable, "x")), 503);
  t.equal(s(new BkgError(ErrorCodes.DeadlineExceeded, "x")), 504);
  t.equal(s(new BkgError(ErrorCodes.PluginError, "x")), 502);
  t.equal(s(new BkgError(4242, "x")), 502);
  t.equal(s(new HttpError(409, ErrorCodes.InvalidParams, "x")), 409);
  t.equal(s(Object.assign(new Error("big"), { code: "FST_ERR_CTP_BODY_TOO_LARGE", statusCode: 413 })), 413);
  t.equal(s(Object.assign(new Error("type"), { code: "FST_ERR_CTP_INVALID_MEDIA_TYPE", statusCode: 415 })), 415);
  const v = toHttpError(Object.assign(new Error("bad"), { validation: [{ instancePath: "/limit", message: "must be <= 500" }], validationContext: "querystring" }));
  t.match(v, { status: 400, body: { error: { code: ErrorCodes.InvalidParams, message: "invalid querystring: /limit must be <= 500", details: { errors: [{ path: "/limit" }] } } } });
  t.same(toHttpError(new BkgError(4242, "mine", { a: 1 })).body, { error: { code: 4242, message: "mine", details: { a: 1 } } }, "a plugin's own code has no name");
});

t.test("gRPC statuses and metric outcomes", async (t) => {
  t.equal(grpcStatusOf(ErrorCodes.Unauthenticated), grpc.status.UNAUTHENTICATED);
  t.equal(grpcStatusOf(ErrorCodes.PermissionDenied), grpc.status.PERMISSION_DENIED);
  t.equal(grpcStatusOf(ErrorCodes.DeadlineExceeded), grpc.status.DEADLINE_EXCEEDED);
  t.equal(grpcStatusOf(ErrorCodes.Overloaded), grpc.status.RESOURCE_EXHAUSTED);
  t.equal(grpcStatusOf(ErrorCodes.PluginError), grpc.status.UNKNOWN);
  t.equal(grpcStatusOf(77), grpc.status.UNKNOWN);
  t.equal(outcomeOf(0), "ok");
  t.equal(outcomeOf(ErrorCodes.DeadlineExceeded), "DeadlineExceeded");
  t.equal(outcomeOf(4242), "other");
});

t.test("WebSocket messages: what parses and what each refusal says", async (t) => {
  t.same(parseClientMessage('{"action":"SUB","topic":"logs","plugin":"echo"}'), { action: "SUB", topic: "logs", plugin: "echo" });
  t.same(parseClientMessage('{"action":"CALL","id":1,"method":"echo.reverse","params":{"text":"a"}}'), { action: "CALL", id: 1, method: "echo.reverse", params: { text: "a" }, timeoutMs: undefined });
  t.throws(() => parseClientMessage("{"), { code: ErrorCodes.ParseError });
  t.throws(() => parseClientMessage("[]"), { code: ErrorCodes.InvalidRequest });
  t.throws(() => parseClientMessage('{"action":"SUB","topic":"gossip"}'), /status, logs, telemetry, events/);
  t.throws(() => parseClientMessage('{"action":"CALL","method":"echo.reverse"}'), /needs "id"/);
  t.throws(() => parseClientMessage('{"action":"CALL","id":1,"method":"reverse"}'), /plugin\.method/);
  t.throws(() => parseClientMessage('{"action":"DANCE"}'), /AUTH, SUB, UNSUB, CALL, CANCEL/);
});

t.test("Metrics: call and HTTP series print as prom-client's counters and histograms", async (t) => {
  const m = new Metrics({ list: () => [] } as never, "9.9.9");
  m.calls.done(m.calls.started("echo", "reverse"), 0, 3, 0.1);
  m.calls.done(m.calls.started("echo", "reverse"), ErrorCodes.DeadlineExceeded, 700, 0);
  m.calls.done(m.calls.started("echo", "odd"), 4242, 1, 0);
  m.http("POST", "/api/call/:plugin/:method", 200, 0.002);
  m.http("POST", "/api/call/:plugin/:method", 200, 0.02);
  m.http("GET", "(unmatched)", 404, 0.0001);
  const text = await m.render();
  const lines = (re: RegExp) => text.split("\n").filter((l) => re.test(l));
  t.same(
    lines(/^bkg_calls_total/),
    [
      'bkg_calls_total{plugin="echo",method="reverse",outcome="ok"} 1',
      'bkg_calls_total{plugin="echo",method="reverse",outcome="DeadlineExceeded"} 1',
      'bkg_calls_total{plugin="echo",method="odd",outcome="other"} 1',
    ],
    "a series appears once it counted something",
  );
  t.match(text, /# HELP bkg_calls_total Routed calls by plugin, method and outcome\n# TYPE bkg_calls_total counter\n/);
  t.match(text, /# TYPE bkg_call_duration_seconds histogram\n/);
  t.same(
    lines(/^bkg_call_duration_seconds\w*\{.*method="reverse"/).filter((l) => /le="(0.0025|0.005|1|30|\+Inf)"|_sum|_count/.test(l)),
    [
      'bkg_call_duration_seconds_bucket{le="0.0025",plugin="echo",method="reverse"} 0',
      'bkg_call_duration_seconds_bucket{le="0.005",plugin="echo",method="reverse"} 1',
      'bkg_call_duration_seconds_bucket{le="1",plugin="echo",method="reverse"} 2',
      'bkg_call_duration_seconds_bucket{le="30",plugin="echo",method="reverse"} 2',
      'bkg_call_duration_seconds_bucket{le="+Inf",plugin="echo",method="reverse"} 2',
      'bkg_call_duration_seconds_sum{plugin="echo",method="reverse"} 0.703',
      'bkg_call_duration_seconds_count{plugin="echo",method="reverse"} 2',
    ],
    "cumulative buckets, le first, then +Inf, sum and count",
  );
  t.same(lines(/^bkg_call_queue_wait_seconds_count/), ['bkg_call_queue_wait_seconds_count{plugin="echo"} 3']);
  t.same(lines(/^bkg_http_requests_total/), [
    'bkg_http_requests_total{method="POST",route="/api/call/:plugin/:method",status="200"} 2',
    'bkg_http_requests_total{method="GET",route="(unmatched)",status="404"} 1',
  ]);
  t.same(lines(/^bkg_http_request_duration_seconds_bucket\{le="0.005",method="POST"/), ['bkg_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/call/:plugin/:method"} 1']);
  t.match(text, /bkg_build_info\{version="9.9.9"\} 1/);
  t.same(await m.totals(), [
    { plugin: "echo", method: "odd", calls: 1, errors: 1, byOutcome: { other: 1 } },
    { plugin: "echo", method: "reverse", calls: 2, errors: 1, byOutcome: { ok: 1, DeadlineExceeded: 1 } },
  ]);
  t.same(await m.totals("nosuch"), []);
});
