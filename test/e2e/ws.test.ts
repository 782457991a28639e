/**
 * The WebSocket endpoint /ws/plugins against a real daemon with the apikeys and echo plugins:
 * authentication (header or first message), refused upgrades, bootstrap, SUB/UNSUB to status,
 * logs (with the 100-line replay), events and telemetry, CALL with streamed progress, CANCEL,
 * scopes, and a revoked key closing its open session.
 */
import t from "tap";
import { ErrorCodes } from "@bkg/protocol";
import { apikeysManifest, echoManifest, startTestDaemon } from "../helpers/daemon.js";
import { api } from "../helpers/http.js";
import { WsClient, type Msg } from "../helpers/ws.js";

t.test("WebSocket /ws/plugins", async (t) => {
  const d = await startTestDaemon({ apikeys: apikeysManifest(), echo: echoManifest() }, { http: { rateLimit: { perCredential: 100000, perIp: 100000 } } });
  t.teardown(() => d.stop());
  await d.waitState("apikeys", "ready");
  await d.waitState("echo", "ready");
  const root = d.rootToken();
  const asRoot = api(d.httpUrl!, root);
  const url = `${d.httpUrl!.replace(/^http/, "ws")}/ws/plugins`;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const sessions: WsClient[] = [];
  const open = async (headers: Record<string, string> = bearer(root)) => {
    const c = await WsClient.open(url, headers);
    sessions.push(c);
    return c;
  };
  t.teardown(() => sessions.forEach((s) => s.close()));
  const key = async (role: string, scopes: string[]) => (await asRoot("POST", "/api/keys", { body: { name: `ws-${role}`, role, scopes } })).json as { id: string; key: string };

  t.test("a header credential: bootstrap with the plugins and telemetry", async (t) => {
    const c = await open();
    const boot = await c.next((m) => m.type === "bootstrap", "bootstrap");
    t.match(boot.payload.principal, { type: "root", role: "admin" });
    t.same(boot.payload.plugins.map((p: { name: string }) => p.name).sort(), ["apikeys", "echo"]);
    t.ok(boot.payload.telemetry && typeof boot.payload.telemetry === "object");
    t.equal(c.messages[0].type, "bootstrap", "it is the first message");
  });

  t.test("a token in the first message, for browsers", async (t) => {
    const c = await open({});
    await new Promise((r) => setTimeout(r, 100));
    t.same(c.messages, [], "nothing before authentication");
    c.send({ action: "AUTH", token: root });
    t.match(await c.next((m) => m.type === "bootstrap", "bootstrap"), { payload: { principal: { type: "root" } } });

    const bad = await open({});
    bad.send({ action: "AUTH", token: `bkg_live_${"z".repeat(43)}` });
    t.match(await bad.next((m) => m.type === "error", "the refusal"), { error: { code: ErrorCodes.Unauthenticated } });
    t.equal((await bad.closedWith()).code, 4401);

    const early = await open({});
    early.send({ action: "SUB", topic: "logs" });
    t.equal((await early.closedWith()).code, 4401, "anything but AUTH first closes the session");
  });

  t.test("refused upgrades answer with an HTTP status and the JSON error", async (t) => {
    const e401 = await WsClient.open(url, bearer(`bkg_live_${"q".repeat(43)}`)).catch((e) => e);
    t.match(e401, { status: 401, body: { error: { code: ErrorCodes.Unauthenticated } } });
    const e404 = await WsClient.open(url.replace("/ws/plugins", "/ws/other"), bearer(root)).catch((e) => e);
    t.match(e404, { status: 404 });
    const e403 = await WsClient.open(url, { ...bearer(root), origin: "https://evil.example.com" }).catch((e) => e);
    t.match(e403, { status: 403, body: { error: { message: /origin https:\/\/evil\.example\.com is not allowed/ } } });
  });

  t.test("SUB logs replays the last 100 lines, then follows", async (t) => {
    // Each cancelled sleep leaves a log line in echo's ring.
    await Promise.all(Array.from({ length: 130 }, (_, i) => d.client.call("echo.sleep", { ms: 60_000 + i }, { timeoutMs: 50 }).catch(() => undefined)));
    await d.waitFor(async () => (await d.client.plugins.logs("echo", 500)).filter((l) => /observed cancellation/.test(l.msg)).length >= 130, "130 log lines");
    const ring = await d.client.plugins.logs("echo", 100);
    const c = await open();
    await c.next((m) => m.type === "bootstrap", "bootstrap");
    c.send({ action: "SUB", topic: "logs", plugin: "echo" });
    t.match(await c.next((m) => m.type === "subscribed", "subscribed"), { payload: { topic: "logs", plugin: "echo" } });
    // Many cancellations log the same message in the same millisecond, so the
    // end of the replay is recognised by the call's unique `ms` field too.
    const last = ring.at(-1)!;
    await c.next((m) => m.type === "logs" && m.replay && m.payload.ts === last.ts && m.payload.msg === last.msg && m.payload.fields?.ms === last.fields?.ms, "the end of the replay");
    const replay = c.messages.filter((m) => m.type === "logs" && m.replay);
    t.equal(replay.length, 100);
    t.same(
      replay.map((m: Msg) => [m.payload.msg, m.payload.fields?.ms]),
      ring.map((l) => [l.msg, l.fields?.ms]),
      "the same lines bkg plugins logs shows, oldest first",
    );
    await d.client.call("echo.sleep", { ms: 99_999 }, { timeoutMs: 30 }).catch(() => undefined);
    const live = await c.next((m) => m.type === "logs" && !m.replay && m.payload.fields?.ms === 99_999, "a live line");
    t.match(live.payload, { kind: "log", plugin: "echo", msg: /observed cancellation/ });
  });

  t.test("SUB status, events, telemetry; UNSUB stops them", async (t) => {
    const c = await open();
    await c.next((m) => m.type === "bootstrap", "bootstrap");
    for (const topic of ["status", "events", "telemetry"]) c.send({ action: "SUB", topic });
    await c.next((m) => m.type === "subscribed" && m.payload.topic === "telemetry", "subscribed");
    t.match(await c.next((m) => m.type === "telemetry", "telemetry", 4000), { payload: Object });

    await asRoot("POST", "/api/plugins/echo/stop");
    t.match(await c.next((m) => m.type === "status" && m.payload.state === "stopped", "echo stopped"), { payload: { kind: "lifecycle", plugin: "echo" } });
    const restarted = c.messages.length;
    await asRoot("POST", "/api/plugins/echo/start");
    await c.next((m) => m.type === "status" && m.payload.plugin === "echo" && m.payload.state === "ready", "echo ready", 5000, restarted);

    await d.client.call("echo.sleep", { ms: 77_777 }, { timeoutMs: 30 }).catch(() => undefined);
    t.match(await c.next((m) => m.type === "events" && m.payload.data?.ms === 77_777, "the plugin event"), { payload: { kind: "plugin", event: "echo.sleep.cancelled" } });

    c.send({ action: "UNSUB", topic: "events" });
    t.match(await c.next((m) => m.type === "unsubscribed", "unsubscribed"), { payload: { topic: "events", removed: true } });
    const mark = c.messages.length;
    await d.client.call("echo.sleep", { ms: 66_666 }, { timeoutMs: 30 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    t.notOk(
      c.messages.slice(mark).some((m) => m.type === "events"),
      "no events after UNSUB",
    );

    c.send({ action: "SUB", topic: "gossip" });
    t.match(await c.next((m) => m.type === "error", "a bad topic"), { error: { code: ErrorCodes.InvalidRequest, message: /status, logs, telemetry, events/ } });
    c.ws.send("{not json");
    t.match(await c.next((m) => m.type === "error" && m.error.code === ErrorCodes.ParseError, "a parse error"), { error: { name: "ParseError" } });
  });

  t.test("CALL streams progress, then the result; errors carry the id; CANCEL cancels", async (t) => {
    const c = await open();
    await c.next((m) => m.type === "bootstrap", "bootstrap");
    c.send({ action: "CALL", id: "s1", method: "echo.stream", params: { n: 25 } });
    const result = await c.next((m) => m.type === "result" && m.id === "s1", "the result");
    t.same(result.payload, { count: 25 });
    t.same(
      c.messages.filter((m) => m.type === "progress" && m.id === "s1").map((m: Msg) => m.payload.i),
      Array.from({ length: 25 }, (_, i) => i),
    );

    c.send({ action: "CALL", id: 2, method: "echo.reverse", params: { text: 5 } });
    t.match(await c.next((m) => m.type === "error" && m.id === 2, "the error"), { error: { code: ErrorCodes.InvalidParams, details: { errors: [{ path: "/text" }] } } });
    c.send({ action: "CALL", id: 3, method: "echo.sleep", params: { ms: 5000 }, timeoutMs: 100 });
    t.match(await c.next((m) => m.id === 3, "the deadline"), { type: "error", error: { code: ErrorCodes.DeadlineExceeded } });

    c.send({ action: "CALL", id: 4, method: "echo.sleep", params: { ms: 55_555 } });
    await d.waitInFlight("echo");
    c.send({ action: "CANCEL", id: 4 });
    t.match(await c.next((m) => m.id === 4, "the cancellation"), { type: "error", error: { code: ErrorCodes.RequestCancelled } });
    await d.waitFor(() => d.events.some((e) => e.kind === "plugin" && (e.data as { ms?: number })?.ms === 55_555), "the plugin to see it");

    // A CANCEL in the same chunk as its CALL (read while the CALL's credential is re-checked).
    c.send({ action: "CALL", id: 5, method: "echo.sleep", params: { ms: 55_556 } });
    c.send({ action: "CANCEL", id: 5 });
    t.match(await c.next((m) => m.id === 5, "the cancellation of a call cancelled at once"), { type: "error", error: { code: ErrorCodes.RequestCancelled } });
  });

  t.test("a client that closes the socket mid-call cancels its calls", async (t) => {
    const c = await open();
    await c.next((m) => m.type === "bootstrap", "bootstrap");
    c.send({ action: "CALL", id: 1, method: "echo.sleep", params: { ms: 66_666 } });
    c.send({ action: "CALL", id: 2, method: "echo.sleep", params: { ms: 66_667 } });
    await new Promise((r) => setTimeout(r, 150));
    c.close();
    await d.waitFor(
      () => [66_666, 66_667].every((ms) => d.events.some((e) => e.kind === "plugin" && e.event === "echo.sleep.cancelled" && (e.data as { ms?: number })?.ms === ms)),
      "the plugin to see both cancellations",
    );
    t.pass("both calls were cancelled");
  });

  t.test("scopes and roles apply per message", async (t) => {
    const echoOnly = await key("operator", ["echo.*"]);
    const c = await open(bearer(echoOnly.key));
    const boot = await c.next((m) => m.type === "bootstrap", "bootstrap");
    t.equal(boot.payload.plugins, null, "no plugin list without bkg.plugins.list");
    c.send({ action: "CALL", id: 1, method: "echo.reverse", params: { text: "ok" } });
    t.match(await c.next((m) => m.id === 1, "the result"), { type: "result", payload: "ko" });
    c.send({ action: "CALL", id: 2, method: "apikeys.auth.listUsers", params: {} });
    t.match(await c.next((m) => m.id === 2, "the refusal"), { type: "error", error: { code: ErrorCodes.PermissionDenied } });
    c.send({ action: "SUB", topic: "logs", plugin: "echo" });
    t.match(await c.next((m) => m.type === "error" && m.id === undefined, "a refused SUB"), { error: { code: ErrorCodes.PermissionDenied, details: { action: "bkg.plugins.logs" } } });

    const viewer = await key("viewer", ["bkg.*"]);
    const v = await open({ "x-api-key": viewer.key });
    t.ok((await v.next((m) => m.type === "bootstrap", "bootstrap")).payload.plugins.length, "a viewer sees the plugins");
    v.send({ action: "CALL", id: 1, method: "echo.echo", params: {} });
    t.match(await v.next((m) => m.id === 1, "the refusal"), { type: "error", error: { code: ErrorCodes.PermissionDenied, details: { reason: "role" } } });
  });

  t.test("revoking a key closes its open sessions at once", async (t) => {
    const k = await key("operator", ["echo.*", "bkg.*"]);
    const c = await open(bearer(k.key));
    await c.next((m) => m.type === "bootstrap", "bootstrap");
    c.send({ action: "SUB", topic: "status" });
    await c.next((m) => m.type === "subscribed", "subscribed");
    const started = Date.now();
    t.equal((await asRoot("DELETE", `/api/keys/${k.id}`)).status, 200);
    const closed = await c.closedWith(3000);
    t.equal(closed.code, 4401);
    t.ok(Date.now() - started < 2000);
    t.match(c.messages.at(-1), { type: "error", error: { code: ErrorCodes.Unauthenticated, details: { reason: "revoked" } } });
  });

  t.test("the ws gauge and no secrets in the log", async (t) => {
    const c = await open();
    await c.next((m) => m.type === "bootstrap", "bootstrap");
    const m = (await asRoot("GET", "/metrics")).text;
    t.match(m, /bkg_ws_connections [1-9]\d*/, "counts the open session");
    t.notOk(d.output().includes(root));
    t.match(d.output(), /ws session \d+ opened by root/);
  });
});
