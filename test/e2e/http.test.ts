/**
 * The HTTP control API against a real daemon with the real apikeys and echo plugins: every
 * route, server-sent events, and the error statuses (400, 401, 403, 404, 413, 415, 429, 502,
 * 503, 504). Auth flows, scopes and rate limits are in auth.test.ts.
 */
import { connect } from "node:net";
import t from "tap";
import { ErrorCodes } from "@bkg/protocol";
import { apikeysManifest, echoManifest, startTestDaemon } from "../helpers/daemon.js";
import { api, parseSse } from "../helpers/http.js";

t.test("the HTTP control API", async (t) => {
  const d = await startTestDaemon(
    { apikeys: apikeysManifest(), echo: echoManifest(), tight: echoManifest("tight", { concurrency: 1, queue: 1 }), lazy: echoManifest("lazy", { activation: "lazy" }) },
    { http: { bodyLimit: 4096, cors: { origins: ["https://ops.example.com"] }, rateLimit: { perCredential: 100000, perIp: 100000 } } },
  );
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  await d.waitState("apikeys", "ready");
  await d.waitState("tight", "ready");
  t.ok(d.httpUrl, "bkg.status tells where HTTP listens");
  // The log is written asynchronously: wait for the line rather than race it.
  await d.waitFor(() => d.output().includes(`HTTP control API on ${d.httpUrl}`), "the bound port in the log");
  t.pass("the daemon logs the bound port");
  const root = d.rootToken();
  const call = api(d.httpUrl!, root);
  const anon = api(d.httpUrl!);

  t.test("GET /health is public: status, uptime, version", async (t) => {
    const r = await anon("GET", "/health");
    t.equal(r.status, 200);
    t.match(r.json, { status: "ok", version: /^\d+\.\d+\.\d+/, uptimeMs: Number, pid: d.proc.pid });
    t.match(r.headers.get("x-request-id"), /\S+/, "every answer carries a request id");
    const mine = await anon("GET", "/health", { headers: { "x-request-id": "trace-me-42" } });
    t.equal(mine.headers.get("x-request-id"), "trace-me-42", "a sane X-Request-Id is kept");
  });

  t.test("401 without a credential, 401 with a bad one; the error shape", async (t) => {
    const r = await anon("GET", "/api/plugins");
    t.equal(r.status, 401);
    t.match(r.json, { error: { code: ErrorCodes.Unauthenticated, name: "Unauthenticated", message: /Authorization: Bearer/, details: { reason: "missing" } } });
    const bad = await anon("GET", "/api/plugins", { token: `bkg_live_${"x".repeat(43)}` });
    t.equal(bad.status, 401);
    t.equal(bad.json.error.details.reason, "unknown");
    const junk = await anon("GET", "/ready", { headers: { "x-api-key": "not a credential" } });
    t.equal(junk.status, 401);
    t.equal(junk.json.error.details.reason, "malformed");
  });

  t.test("GET /ready: 200 when every eager plugin is ready (lazy ones do not count), else 503", async (t) => {
    const r = await call("GET", "/ready");
    t.equal(r.status, 200);
    t.match(r.json, { ready: true, notReady: [] });
    t.notOk(r.json.notReady.some((p: { name: string }) => p.name === "lazy"));
    await call("POST", "/api/plugins/tight/stop");
    const down = await call("GET", "/ready");
    t.equal(down.status, 503);
    t.match(down.json, { ready: false, notReady: [{ name: "tight", state: "stopped" }] });
    await call("POST", "/api/plugins/tight/start");
    await d.waitState("tight", "ready");
  });

  t.test("GET /api/plugins and /api/plugins/:name", async (t) => {
    const list = await call("GET", "/api/plugins");
    t.equal(list.status, 200);
    t.same(list.json.map((p: { name: string }) => p.name).sort(), ["apikeys", "echo", "lazy", "tight"]);
    const info = await call("GET", "/api/plugins/echo");
    t.equal(info.status, 200);
    t.match(info.json, { name: "echo", state: "ready", restarts: 0, manifest: { name: "echo" }, instances: [{ state: "ready" }] });
    t.equal(info.json.pids.length, 1);
    t.ok(info.json.methods.some((m: { name: string; streaming?: boolean }) => m.name === "stream" && m.streaming));
    const nope = await call("GET", "/api/plugins/nosuch");
    t.equal(nope.status, 404);
    t.match(nope.json.error, { code: ErrorCodes.MethodNotFound, message: /no plugin named "nosuch".*echo/ });
  });

  t.test("POST /api/plugins/:name/stop, start, reload", async (t) => {
    const stop = await call("POST", "/api/plugins/echo/stop");
    t.equal(stop.status, 200);
    t.match(stop.json, { name: "echo", state: "stopped" });
    const unavailable = await call("POST", "/api/call/echo/reverse", { body: { text: "x" } });
    t.equal(unavailable.status, 503, "a call to a stopped plugin is 503");
    t.equal(unavailable.json.error.code, ErrorCodes.PluginUnavailable);
    const start = await call("POST", "/api/plugins/echo/start");
    t.equal(start.status, 200);
    await d.waitState("echo", "ready");
    const before = (await call("GET", "/api/plugins/echo")).json.pids[0];
    const reload = await call("POST", "/api/plugins/echo/reload");
    t.equal(reload.status, 200);
    t.match(reload.json, { name: "echo", version: "1.0.0" });
    await d.waitFor(async () => (await call("GET", "/api/plugins/echo")).json.pids.join() !== String(before), "a new echo instance");
    t.equal((await call("POST", "/api/plugins/nosuch/stop")).status, 404);
  });

  t.test("GET /api/plugins/:name/logs?limit= (default 200, max 500)", async (t) => {
    const r = await call("GET", "/api/plugins/echo/logs");
    t.equal(r.status, 200);
    t.ok(r.json.length > 0 && r.json.length <= 200);
    t.match(r.json[0], { kind: "log", plugin: "echo", msg: String });
    const two = await call("GET", "/api/plugins/echo/logs?limit=2");
    t.equal(two.json.length, 2);
    t.same(two.json, r.json.slice(-2), "the last lines, oldest first");
    const tooMany = await call("GET", "/api/plugins/echo/logs?limit=501");
    t.equal(tooMany.status, 400);
    t.match(tooMany.json.error, { code: ErrorCodes.InvalidParams, message: /limit/ });
  });

  t.test("GET /api/plugins/:name/telemetry", async (t) => {
    await call("POST", "/api/call/echo/reverse", { body: { text: "abc" } });
    const r = await call("GET", "/api/plugins/echo/telemetry");
    t.equal(r.status, 200);
    t.ok(r.json && typeof r.json === "object");
    t.match(JSON.stringify(r.json), /reverse/, "per-method numbers include the call just made");
    t.equal((await call("GET", "/api/plugins/nosuch/telemetry")).status, 404);
  });

  t.test("GET /api/events and /api/cluster/nodes: what the store keeps, as bkg events shows it", async (t) => {
    // The stop/start/reload above left lifecycle events; telemetry writes them in its next flush.
    let r = await call("GET", "/api/events?plugin=echo&kinds=lifecycle");
    await d.waitFor(async () => (r = await call("GET", "/api/events?plugin=echo&kinds=lifecycle")).json.length > 0, "stored lifecycle events");
    t.equal(r.status, 200);
    t.ok(
      r.json.every((e: { plugin: string; kind: string }) => e.plugin === "echo" && e.kind === "lifecycle"),
      "only what was asked for",
    );
    t.ok(
      r.json.every((e: { ts: number }, i: number, a: { ts: number }[]) => i === 0 || a[i - 1].ts <= e.ts),
      "oldest first",
    );
    const viaSocket = await d.client.events({ plugin: "echo", kinds: ["lifecycle"], since: "1h" });
    const again = await call("GET", "/api/events?plugin=echo&kinds=lifecycle&since=1h");
    t.same(again.json, viaSocket, "the same events the socket gives");
    t.equal((await call("GET", "/api/events?plugin=echo&limit=1")).json.length, 1);
    const bad = await call("GET", "/api/events?since=yesterday-ish");
    t.equal(bad.status, 400);
    t.match(bad.json.error, { code: ErrorCodes.InvalidParams, message: /since "yesterday-ish" is not a time/ });
    t.equal((await call("GET", "/api/events?kinds=nonsense")).status, 400);
    t.equal((await anon("GET", "/api/events")).status, 401, "events need a credential");
    const nodes = await call("GET", "/api/cluster/nodes");
    t.equal(nodes.status, 200);
    t.ok(Array.isArray(nodes.json) && nodes.json.length >= 1, "at least this daemon");
  });

  t.test("POST /api/call/:plugin/:method: results and mapped errors", async (t) => {
    const ok = await call("POST", "/api/call/echo/reverse", { body: { text: "héllo" } });
    t.equal(ok.status, 200);
    t.same(ok.json, { result: "olléh" });
    const empty = await call("POST", "/api/call/echo/echo");
    t.same(empty.json, { result: {} }, "no body is {}");

    const invalid = await call("POST", "/api/call/echo/reverse", { body: { text: 5 } });
    t.equal(invalid.status, 400);
    t.match(invalid.json.error, { code: ErrorCodes.InvalidParams, details: { errors: [{ path: "/text" }] } });
    const notObject = await call("POST", "/api/call/echo/reverse", { body: [1, 2] });
    t.equal(notObject.status, 400);

    const noMethod = await call("POST", "/api/call/echo/nope", { body: {} });
    t.equal(noMethod.status, 404);
    t.match(noMethod.json.error.message, /no method "nope"/);
    t.equal((await call("POST", "/api/call/nosuch/x", { body: {} })).status, 404);

    const failed = await call("POST", "/api/call/echo/fail", { body: { message: "boom", data: { why: 1 } } });
    t.equal(failed.status, 502, "a plugin error is 502");
    t.match(failed.json.error, { code: ErrorCodes.PluginError, message: "boom", details: { why: 1 } });
    const own = await call("POST", "/api/call/echo/fail", { body: { code: 4242, message: "mine" } });
    t.equal(own.status, 502);
    t.equal(own.json.error.code, 4242);
    t.notOk("name" in own.json.error, "a plugin's own code has no name");

    const started = Date.now();
    const late = await call("POST", "/api/call/echo/sleep?timeoutMs=200", { body: { ms: 5000 } });
    t.equal(late.status, 504);
    t.equal(late.json.error.code, ErrorCodes.DeadlineExceeded);
    t.ok(Date.now() - started < 3000);
  });

  t.test("429 when the plugin is overloaded", async (t) => {
    const slow = [call("POST", "/api/call/tight/sleep", { body: { ms: 800 } }), call("POST", "/api/call/tight/sleep", { body: { ms: 800 } })];
    await d.waitFor(async () => {
      const info = await d.client.plugins.info("tight");
      return info.instances[0]?.inflight === 1 && info.queued === 1;
    }, "one call in flight and one queued");
    const third = await call("POST", "/api/call/tight/sleep", { body: { ms: 10 } });
    t.equal(third.status, 429);
    t.equal(third.json.error.code, ErrorCodes.Overloaded);
    t.same(
      (await Promise.all(slow)).map((r) => r.status),
      [200, 200],
    );
  });

  t.test("bodies: 413 over http.bodyLimit, 400 for broken JSON, 415 for not JSON", async (t) => {
    const big = await call("POST", "/api/call/echo/echo", { body: { blob: "x".repeat(8000) } });
    t.equal(big.status, 413);
    t.match(big.json.error, { code: ErrorCodes.InvalidRequest, message: /larger than the limit of 4096 bytes/ });
    const broken = await call("POST", "/api/call/echo/echo", { raw: "{nope", headers: { "content-type": "application/json" } });
    t.equal(broken.status, 400);
    t.equal(broken.json.error.code, ErrorCodes.ParseError);
    const form = await call("POST", "/api/call/echo/echo", { raw: "a=1", headers: { "content-type": "application/x-www-form-urlencoded" } });
    t.equal(form.status, 415, "curl -d without --json is told to send JSON");
    t.match(form.json.error.message, /Content-Type: application\/json/);
  });

  t.test("unknown routes are 404 in the same shape", async (t) => {
    const r = await call("GET", "/api/nothing-here");
    t.equal(r.status, 404);
    t.match(r.json.error, { code: ErrorCodes.MethodNotFound, message: /no route GET \/api\/nothing-here/ });
  });

  t.test("SSE: Accept: text/event-stream streams progress in order, then the result", async (t) => {
    const r = await call("POST", "/api/call/echo/stream", { body: { n: 50 }, headers: { accept: "text/event-stream" } });
    t.equal(r.status, 200);
    t.match(r.headers.get("content-type"), /^text\/event-stream/);
    const events = parseSse(r.text);
    t.same(
      events.slice(0, -1).map((e) => (e.data as { i: number }).i),
      Array.from({ length: 50 }, (_, i) => i),
    );
    t.ok(events.slice(0, -1).every((e, i) => e.event === "progress" && e.id === String(i)));
    t.same(events.at(-1), { event: "result", data: { count: 50 } });

    const plain = await call("POST", "/api/call/echo/reverse", { body: { text: "ab" }, headers: { accept: "text/event-stream" } });
    t.same(parseSse(plain.text), [{ event: "result", data: "ba" }], "a method that does not stream answers with one result event");

    const early = await call("POST", "/api/call/echo/nope", { body: {}, headers: { accept: "text/event-stream" } });
    t.equal(early.status, 404, "an error before any progress keeps its status and JSON body");
    t.equal(early.json.error.code, ErrorCodes.MethodNotFound);

    const cut = await call("POST", "/api/call/echo/stream?timeoutMs=300", { body: { n: 100, delayMs: 50 }, headers: { accept: "text/event-stream" } });
    t.equal(cut.status, 200);
    const ev = parseSse(cut.text);
    t.ok(ev.filter((e) => e.event === "progress").length >= 2, "some progress arrived");
    t.match(ev.at(-1), { event: "error", data: { code: ErrorCodes.DeadlineExceeded, name: "DeadlineExceeded" } }, "a failure mid-stream is an error event");
  });

  t.test("a client that goes away cancels the call", async (t) => {
    const ac = new AbortController();
    const p = call("POST", "/api/call/echo/sleep", { body: { ms: 4321 }, signal: ac.signal }).catch((e) => e);
    await d.waitInFlight("echo");
    ac.abort();
    t.match(await p, { name: "AbortError" });
    await d.waitFor(() => d.events.some((e) => e.kind === "plugin" && e.event === "echo.sleep.cancelled" && (e.data as { ms: number }).ms === 4321), "the plugin to see the cancellation");

    // Gone halfway through the body: the request ends (logged as 499), nothing is called or failed.
    const u = new URL(d.httpUrl!);
    const sock = connect(Number(u.port), u.hostname);
    await new Promise((r) => sock.once("connect", r));
    sock.write(`POST /api/call/echo/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${root}\r\nX-Request-Id: half-a-body\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":`);
    await new Promise((r) => setTimeout(r, 100));
    sock.destroy();
    const line = await d.logLine('"reqId":"half-a-body"', "the access log line of the abandoned request");
    t.match(line, { status: 499, level: 30 });
    t.equal((await call("POST", "/api/call/echo/reverse", { body: { text: "ok" } })).status, 200, "the next call is served");
  });

  t.test("a body that arrives in pieces, split inside a character, is read whole", async (t) => {
    const u = new URL(d.httpUrl!);
    const sock = connect(Number(u.port), u.hostname);
    await new Promise((r) => sock.once("connect", r));
    const body = Buffer.from(JSON.stringify({ text: "ab🎉é" }));
    const cut = body.indexOf(Buffer.from("🎉")) + 2;
    let answer = "";
    sock.on("data", (c: Buffer) => (answer += c.toString("utf8")));
    const head = `POST /api/call/echo/reverse HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${root}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    sock.write(Buffer.concat([Buffer.from(head), body.subarray(0, cut)]));
    // The rest comes after the fast path has looked for a complete body and found half of one.
    await new Promise((r) => setTimeout(r, 50));
    sock.write(body.subarray(cut));
    // Connection: close - the server closes once it has answered (or the test stops waiting).
    await new Promise((r) => {
      sock.once("close", r);
      sock.setTimeout(10_000, () => sock.destroy());
    });
    t.match(answer, /^HTTP\/1\.1 200 /);
    t.same(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)), { result: "é🎉ba" });
  });

  t.test("GET /metrics: Prometheus text with calls, latency, in-flight, restarts, state and process metrics", async (t) => {
    const r = await call("GET", "/metrics");
    t.equal(r.status, 200);
    t.match(r.headers.get("content-type"), /^text\/plain/);
    // Counters that the calls above must have moved: more than 0, not any number.
    t.match(r.text, /bkg_calls_total\{plugin="echo",method="reverse",outcome="ok"\} [1-9]\d*/);
    t.match(r.text, /bkg_calls_total\{plugin="echo",method="sleep",outcome="DeadlineExceeded"\} 1/);
    t.match(r.text, /bkg_calls_total\{plugin="echo",method="fail",outcome="PluginError"\} 1/);
    t.match(r.text, /bkg_call_duration_seconds_bucket\{le="0.005",plugin="echo",method="reverse"\} \d+/);
    t.match(r.text, /bkg_call_duration_seconds_count\{plugin="echo",method="reverse"\} [1-9]\d*/);
    t.match(r.text, /bkg_plugin_calls_in_flight\{plugin="echo"\} 0/);
    t.match(r.text, /bkg_plugin_restarts_total\{plugin="echo"\} 0/);
    t.match(r.text, /bkg_plugin_state\{plugin="echo",state="ready"\} 1/);
    t.match(r.text, /bkg_plugin_resident_memory_bytes\{plugin="echo"\} [1-9]\d+/, "RSS per plugin, from the telemetry sampler");
    t.match(r.text, /bkg_plugin_cpu_seconds_total\{plugin="echo"\} [\d.e-]+/);
    t.match(r.text, /bkg_http_requests_total\{method="POST",route="\/api\/call\/:plugin\/:method",status="200"\} [1-9]\d*/);
    t.match(r.text, /bkg_auth_checks_total\{outcome="root"\} [1-9]\d*/);
    t.match(r.text, /process_resident_memory_bytes [1-9]\d*/);
    t.match(r.text, /nodejs_eventloop_lag_seconds/);
    t.notMatch(r.text, /method="nope"/, "unknown method names do not become labels");
  });

  t.test("the call route answers alike whether its fast path or fastify serves it", async (t) => {
    // An Origin header sends a call through fastify (CORS); without one it takes the node:http fast path.
    const viewer = (await call("POST", "/api/keys", { body: { name: "fast-path-viewer", role: "viewer", scopes: ["*"] } })).json.key as string;
    const cases: [string, string, Parameters<typeof call>[2]][] = [
      ["ok", "/api/call/echo/reverse", { body: { text: "héllo" } }],
      ["no body", "/api/call/echo/echo", {}],
      ["timeoutMs", "/api/call/echo/echo?timeoutMs=5000", { body: { a: [1, { b: null }] } }],
      ["invalid params", "/api/call/echo/reverse", { body: { text: 5 } }],
      ["params not an object", "/api/call/echo/reverse", { body: [1] }],
      ["broken JSON", "/api/call/echo/echo", { raw: "{nope", headers: { "content-type": "application/json" } }],
      ["poisoned JSON", "/api/call/echo/echo", { raw: '{"__proto__":{"x":1}}', headers: { "content-type": "application/json" } }],
      // The fast path passes a body it need not look into through as text (RawJson); these are its edges.
      ["whitespace and unicode", "/api/call/echo/echo", { raw: ' { "a" : [1, {"b": "ü🎉"}], "n": null }\n', headers: { "content-type": "application/json" } }],
      ["escapes", "/api/call/echo/echo", { raw: ' { "a" : [1, {"b": "\\u00e9ü🎉"}], "n": null }\n', headers: { "content-type": "application/json" } }],
      ["a _meta member", "/api/call/echo/echo", { body: { _meta: { timeoutMs: 5 }, x: 1 } }],
      ["nested past limits.jsonDepth", "/api/call/echo/echo", { raw: `{"x":${"[".repeat(200)}${"]".repeat(200)}}`, headers: { "content-type": "application/json" } }],
      ["text after the object", "/api/call/echo/echo", { raw: '{"a":1} x', headers: { "content-type": "application/json" } }],
      ["a 20-digit integer", "/api/call/echo/echo", { raw: '{"n":12345678901234567890}', headers: { "content-type": "application/json" } }],
      ["no method", "/api/call/echo/nope", { body: {} }],
      ["no plugin", "/api/call/nosuch/x", { body: {} }],
      ["plugin error", "/api/call/echo/fail", { body: { message: "boom", data: { why: 1 } } }],
      ["plugin's own code", "/api/call/echo/fail", { body: { code: 4242, message: "mine" } }],
      ["deadline", "/api/call/echo/sleep?timeoutMs=100", { body: { ms: 3000 } }],
      ["no credential", "/api/call/echo/echo", { body: {}, token: "" }],
      ["unknown key", "/api/call/echo/echo", { body: {}, token: `bkg_live_${"z".repeat(43)}` }],
      ["malformed credential", "/api/call/echo/echo", { body: {}, token: "nonsense" }],
      ["role", "/api/call/echo/echo", { body: {}, token: viewer }],
      ["the auth plugin's methods", "/api/call/apikeys/auth.listKeys", { body: {} }],
      ["413", "/api/call/echo/echo", { body: { blob: "x".repeat(8000) } }],
      ["415", "/api/call/echo/echo", { raw: "a=1", headers: { "content-type": "application/x-www-form-urlencoded" } }],
      ["request id", "/api/call/echo/echo", { body: {}, headers: { "x-request-id": "fast-path-probe" } }],
    ];
    const ignored = new Set(["date", "vary", "connection", "keep-alive", "x-request-id", "x-ratelimit-remaining", "x-ratelimit-reset"]);
    const shape = (r: Awaited<ReturnType<typeof call>>) => {
      const out = {
        status: r.status,
        body: r.json ?? r.text,
        headers: Object.fromEntries([...r.headers.entries()].filter(([k]) => !ignored.has(k) && !k.startsWith("access-control-"))),
      };
      // A call's trace is its own: both paths must answer one (or neither), each a new one.
      if (/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/.test(out.headers.traceresponse ?? "")) out.headers.traceresponse = "(a traceresponse)";
      // Which of two clocks ends a call at its deadline (the plugin's own stop, the router's timer) words the message.
      if (out.body?.error?.code === ErrorCodes.DeadlineExceeded) {
        delete out.body.error.message;
        delete out.headers["content-length"];
      }
      return out;
    };
    for (const [name, path, req] of cases) {
      const fast = await call("POST", path, req);
      const viaFastify = await call("POST", path, { ...req, headers: { ...req?.headers, origin: "https://elsewhere.example.com" } });
      t.same(shape(fast), shape(viaFastify), `${name}: ${fast.status}`);
      t.ok(fast.headers.get("x-request-id"), `${name}: has a request id`);
    }
    t.equal((await call("POST", "/api/call/echo/echo", { body: {}, headers: { "x-request-id": "fast-path-probe" } })).headers.get("x-request-id"), "fast-path-probe");
    t.same((await call("POST", "/api/call/echo/reverse", { body: { text: "ab" } })).json, { result: "ba" });
  });

  t.test("GET /openapi.json describes the routes", async (t) => {
    const r = await call("GET", "/openapi.json");
    t.equal(r.status, 200);
    t.equal(r.json.openapi, "3.0.3");
    for (const path of [
      "/health",
      "/ready",
      "/metrics",
      "/api/plugins",
      "/api/plugins/{name}",
      "/api/plugins/{name}/stop",
      "/api/plugins/{name}/logs",
      "/api/events",
      "/api/cluster/nodes",
      "/api/call/{plugin}/{method}",
      "/auth/login",
      "/api/keys",
      "/api/keys/{id}/rotate",
      "/api/users",
      "/api/audit",
    ]) {
      t.ok(r.json.paths[path], `documents ${path}`);
    }
    t.same(r.json.paths["/health"].get.security, [], "public routes say so");
    t.ok(r.json.components.securitySchemes.bearer);
  });

  t.test("CORS: only origins in http.cors.origins get the headers", async (t) => {
    const ok = await anon("OPTIONS", "/api/plugins", { headers: { origin: "https://ops.example.com", "access-control-request-method": "GET", "access-control-request-headers": "authorization" } });
    t.equal(ok.status, 204, "a preflight needs no credential");
    t.equal(ok.headers.get("access-control-allow-origin"), "https://ops.example.com");
    const denied = await call("GET", "/api/plugins", { headers: { origin: "https://evil.example.com" } });
    t.equal(denied.headers.get("access-control-allow-origin"), null);
    const err = await anon("GET", "/api/plugins", { headers: { origin: "https://ops.example.com" } });
    t.equal(err.status, 401);
    t.equal(err.headers.get("access-control-allow-origin"), "https://ops.example.com", "a browser can read the error too");
  });

  t.test("the access log: request id, credential id, route, status, latency", async (t) => {
    await call("GET", "/api/plugins/echo", { headers: { "x-request-id": "access-log-probe" } });
    const line = await d.logLine('"reqId":"access-log-probe"', "the access log line");
    t.match(line, { component: "http", reqId: "access-log-probe", cred: "root", method: "GET", route: "/api/plugins/:name", path: "/api/plugins/echo", status: 200, ms: Number });
    await call("POST", "/api/call/echo/reverse?timeoutMs=5000", { body: { text: "secret-param" }, headers: { "x-request-id": "access-log-call" } });
    const callLine = await d.logLine('"reqId":"access-log-call"', "the call's access log line");
    t.match(callLine, {
      component: "http",
      reqId: "access-log-call",
      cred: "root",
      method: "POST",
      route: "/api/call/:plugin/:method",
      path: "/api/call/echo/reverse",
      status: 200,
      ms: Number,
      ip: String,
      msg: "POST /api/call/echo/reverse 200",
    });
    t.notMatch(d.output(), /secret-param|timeoutMs=5000/, "neither the body nor the query string is logged");
    t.notMatch(d.output(), new RegExp(root), "the root token is never logged");
  });
});
