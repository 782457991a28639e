/**
 * Regression tests for input that used to kill or confuse the daemon (hardening issue, items
 * 1, 2 and 11). Every test ends with TestDaemon.stop(), which also fails the test when the
 * daemon logged an uncaught exception or unhandled rejection.
 */
import * as grpc from "@grpc/grpc-js";
import t, { type Test } from "tap";
import { ErrorCodes } from "@bkg/protocol";
import { echoManifest, rogueManifest, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { Bus } from "../helpers/grpc.js";
import { api } from "../helpers/http.js";
import { WsClient } from "../helpers/ws.js";

/** `[[[...]]]` nested `depth` levels, as raw JSON text (JSON.stringify cannot encode it). */
const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const deepParamsText = (depth: number) => `{"text":"x","deep":${nested(depth)}}`;

/** Sends one raw request frame on a fresh socket connection and resolves with the parsed answer. */
async function rawSocketCall(d: TestDaemon, body: string): Promise<any> {
  const { createConnection } = await import("node:net");
  return new Promise((resolve, reject) => {
    const s = createConnection(d.socketPath);
    let buf = "";
    s.on("data", (chunk) => {
      buf += chunk.toString();
      const m = /^Content-Length: (\d+)\r\n\r\n/.exec(buf);
      if (m && buf.length >= m[0].length + Number(m[1])) {
        s.destroy();
        resolve(JSON.parse(buf.slice(m[0].length, m[0].length + Number(m[1]))));
      }
    });
    s.on("error", reject);
    s.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
}

/** The daemon answers and the echo plugin serves: nothing above took it down. */
async function stillServing(t: Test, d: TestDaemon, what: string) {
  t.equal(d.proc.exitCode, null, `${what}: the daemon process is still running`);
  t.equal(await d.client.call("echo.reverse", { text: "up" }), "pu", `${what}: calls are still answered`);
}

t.test("bug: deeply nested params (6,000 levels) killed the daemon once the plugin exited; refused with -32602 on every surface", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() }, { grpc: { enabled: true, port: 0 } });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  const root = d.rootToken();

  // HTTP, as the probe did (an operator key then; the root token passes the same gateway steps).
  const http = api(d.httpUrl!, root);
  const h = await http("POST", "/api/call/echo/echo", { raw: deepParamsText(6000), headers: { "content-type": "application/json" } });
  t.equal(h.status, 400, "HTTP answers 400");
  t.match(h.json, { error: { code: ErrorCodes.InvalidParams, message: /nested deeper than 128 levels \(limits\.jsonDepth\)/ } });

  // The unix socket.
  const s = await rawSocketCall(d, `{"jsonrpc":"2.0","id":1,"method":"echo.echo","params":${deepParamsText(6000)}}`);
  t.match(s, { id: 1, error: { code: ErrorCodes.InvalidParams, message: /nested deeper than 128 levels/ } }, "the socket answers -32602");

  // The WebSocket.
  const ws = await WsClient.open(`${d.httpUrl!.replace("http", "ws")}/ws/plugins`, { authorization: `Bearer ${root}` });
  ws.ws.send(`{"action":"CALL","id":"deep","method":"echo.echo","params":${deepParamsText(6000)}}`);
  const w = await ws.next((m) => m.id === "deep", "the WebSocket answer");
  t.match(w, { type: "error", error: { code: ErrorCodes.InvalidParams, message: /nested deeper/ } }, "the WebSocket answers -32602");
  ws.close();

  // gRPC (params travel as JSON text).
  const client = new Bus(d.grpcAddress!, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${root}`);
  const g = await new Promise<grpc.ServiceError | null>((resolve) => client.Call({ method: "echo.echo", paramsJson: deepParamsText(6000) }, md, (err: grpc.ServiceError | null) => resolve(err)));
  client.close();
  t.equal(Number(g?.metadata.get("bkg-error-code")[0]), ErrorCodes.InvalidParams, "gRPC answers with bkg-error-code -32602");

  // The probe's kill: the plugin exiting after such a call rejected an orphaned request.
  t.equal((await d.cli(["plugins", "reload", "echo"])).code, 0, "bkg plugins reload echo");
  await d.waitState("echo", "ready");
  await d.client.call("echo.crash", {}).catch(() => undefined);
  await d.waitState("echo", "ready");
  await stillServing(t, d, "after a reload and a crash");

  // Just under the bound still goes through.
  t.same(await d.client.call("echo.echo", JSON.parse(deepParamsText(120))), JSON.parse(deepParamsText(120)), "params nested 121 levels are served");
});

t.test("bug: a plugin's deeply nested answer, event or bkg/call params cannot reach an encoder", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest(), rogue: rogueManifest("rogue", "ok", { permissions: ["rogue.*"], restart: { policy: "always", backoff: { initialMs: 20, maxMs: 200 } } }) });
  t.teardown(() => d.stop());
  await d.waitState("rogue", "ready");
  await d.waitState("echo", "ready");

  const answer = await d.client.call("rogue.deep", { depth: 6000 }).catch((e) => e);
  t.match(answer, { code: ErrorCodes.InternalError, message: /nested deeper than 128 levels/ }, "a deep result fails its call with -32603");

  t.same(await d.client.call("rogue.deepEvent", { depth: 6000 }), { emitted: true }, "a deep event is dropped; the call goes on");
  const viaBus = (await d.client.call("rogue.deepCall", { depth: 6000, target: "rogue.ok" })) as { error?: { code: number } };
  t.equal(viaBus.error?.code, ErrorCodes.InvalidParams, "deep bkg/call params are answered -32602");
  t.match(await d.client.call("rogue.ok", {}), { ok: true }, "the plugin keeps serving");
  await d.logLine("refused a message from the plugin", "the daemon's note about the refused message");

  await d.client.call("rogue.exit", {}).catch(() => undefined);
  await d.waitState("rogue", "ready");
  await stillServing(t, d, "after the plugin exited");
});

t.test("bug: method names that are Object.prototype members (constructor, __proto__, toString) resolved to them", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  for (const method of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "__defineGetter__", "constructor.prototype", "echo.constructor", "echo.__proto__"]) {
    const a = await rawSocketCall(d, JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: {} }));
    t.equal(a.error?.code, ErrorCodes.MethodNotFound, `${method}: -32601`);
  }
  const cli = await d.cli(["call", "constructor", "{}"]);
  t.not(cli.code, 0, "bkg call constructor fails");
  t.match(cli.stderr, /-32601|not a plugin method/, "... saying the method does not exist");
  const http = api(d.httpUrl!, d.rootToken());
  for (const path of ["/api/call/constructor/x", "/api/call/echo/constructor", "/api/call/__proto__/toString", "/api/plugins/constructor", "/api/plugins/__proto__/info"]) {
    const r = await http("POST", path, { body: {} });
    t.ok(r.status === 404 || r.status === 405, `${path}: ${r.status}`);
  }
  await stillServing(t, d, "after prototype names");
});

t.test("small ones: timeouts past 2^31 - 1 ms, bkg.subscribe with a string for topics", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");

  for (const timeoutMs of [2 ** 31, 1e300, -5, 0]) {
    const a = await rawSocketCall(d, JSON.stringify({ jsonrpc: "2.0", id: 1, method: "echo.reverse", params: { text: "ab", _meta: { timeoutMs } } }));
    t.match(
      a,
      { error: { code: ErrorCodes.InvalidParams, message: /timeout for echo.reverse must be a number of milliseconds from 1 to 2147483647/ } },
      `timeoutMs ${timeoutMs}: -32602, not an instant -33001`,
    );
  }
  const ok = await rawSocketCall(d, JSON.stringify({ jsonrpc: "2.0", id: 2, method: "echo.reverse", params: { text: "ab", _meta: { timeoutMs: 2 ** 31 - 1 } } }));
  t.same(ok.result, "ba", "the largest timeout the timers keep is served");

  const http = api(d.httpUrl!, d.rootToken());
  const h = await http("POST", `/api/call/echo/reverse?timeoutMs=${2 ** 31}`, { body: { text: "ab" } });
  t.equal(h.status, 400, "HTTP ?timeoutMs=2^31 answers 400");

  const sub = await rawSocketCall(d, JSON.stringify({ jsonrpc: "2.0", id: 3, method: "bkg.subscribe", params: { topics: "lifecycle" } }));
  t.match(sub, { error: { code: ErrorCodes.InvalidParams, message: /"topics" must be an array/ } }, "bkg.subscribe {topics: string} answers -32602, not -32603");
  const sub2 = await rawSocketCall(d, JSON.stringify({ jsonrpc: "2.0", id: 4, method: "bkg.subscribe", params: { topics: ["lifecycle"], plugin: 7 } }));
  t.equal(sub2.error?.code, ErrorCodes.InvalidParams, "a plugin that is not a name: -32602");
  await stillServing(t, d, "after the small ones");
});
