/**
 * The HTTP and WebSocket surface's connection limits (docs/config.md, "Connection limits"):
 * the connection cap (while the unix socket still answers), header and body timeouts, the media
 * type of JSON routes, and WebSocket sessions: their cap and a consumer that does not read.
 */
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import t from "tap";
import { ErrorCodes } from "@bkg/protocol";
import { startTestDaemon } from "../helpers/daemon.js";
import { api } from "../helpers/http.js";
import { WsClient } from "../helpers/ws.js";

/** A raw TCP connection to the HTTP port: what it received and whether the daemon closed it. */
interface Conn {
  socket: Socket;
  received: string;
  closed: boolean;
}

function tcp(url: string): Promise<Conn> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const c: Conn = { socket, received: "", closed: false };
    socket.on("data", (d) => (c.received += d));
    socket.on("close", () => (c.closed = true));
    socket.on("error", () => undefined);
    socket.once("connect", () => resolve(c));
    socket.once("error", reject);
  });
}

t.test("regression: HTTP had no connection cap (21,000 slow connections took every descriptor); the unix socket answers meanwhile", async (t) => {
  const d = await startTestDaemon(undefined, { http: { maxConnections: 20 } });
  t.teardown(() => d.stop());
  const held: Conn[] = [];
  t.teardown(() => held.forEach((c) => c.socket.destroy()));
  // Twenty connections that send the start of a request and then nothing.
  for (let i = 0; i < 20; i++) {
    const c = await tcp(d.httpUrl!);
    c.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n");
    held.push(c);
  }
  const extra: Conn[] = [];
  for (let i = 0; i < 5; i++) extra.push(await tcp(d.httpUrl!));
  t.teardown(() => extra.forEach((c) => c.socket.destroy()));
  await d.waitFor(() => extra.every((c) => c.closed), "the connections over the cap to be closed");
  t.ok(
    extra.every((c) => c.received === ""),
    "closed without an answer",
  );
  t.notOk(
    held.some((c) => c.closed),
    "the twenty admitted ones are still open",
  );
  await d.logLine("http.maxConnections", "the log line naming the limit");
  // The operator's way in still works.
  t.same(await d.client.call("echo.reverse", { text: "abc" }), "cba", "the unix socket answers");
  const st = await d.cli(["status"]);
  t.equal(st.code, 0, "bkg status works");
  // Once they go, HTTP serves again.
  held.splice(0).forEach((c) => c.socket.destroy());
  await d.waitFor(
    async () =>
      (await fetch(`${d.httpUrl}/health`)
        .then((r) => r.status)
        .catch(() => 0)) === 200,
    "HTTP to answer again",
  );
});

t.test("regression: a slow-body client was never closed (http.requestTimeoutMs); slow headers neither (http.headersTimeoutMs)", async (t) => {
  const d = await startTestDaemon(undefined, { http: { requestTimeoutMs: 1000, headersTimeoutMs: 1000 } });
  t.teardown(() => d.stop());
  const token = d.rootToken();
  // The fast path (POST /api/call) and a fastify route (POST /auth/keys) each get a body that never completes.
  const bodies = await Promise.all([tcp(d.httpUrl!), tcp(d.httpUrl!)]);
  const [fast, slow] = bodies;
  t.teardown(() => bodies.forEach((c) => c.socket.destroy()));
  fast.socket.write(`POST /api/call/echo/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":`);
  slow.socket.write(`POST /auth/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":`);
  const headers = await tcp(d.httpUrl!);
  t.teardown(() => headers.socket.destroy());
  headers.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n");
  await d.waitFor(() => fast.closed && slow.closed && headers.closed, "the daemon to close the slow clients", 30_000);
  for (const c of [fast, slow, headers]) t.match(c.received, /^(HTTP\/1\.1 408|)/, "408 (or just closed)");
  const call = api(d.httpUrl!, token);
  t.equal((await call("POST", "/api/call/echo/echo", { body: { a: 1 } })).status, 200, "a prompt client is served");
  // The timeout is for receiving the request: a call may take longer than it to answer.
  t.equal((await call("POST", "/api/call/echo/sleep", { body: { ms: 2500 } })).status, 200, "a call longer than http.requestTimeoutMs is answered");
});

t.test("regression: a text/plain body on a JSON route is 415 on the fast path and on fastify's routes", async (t) => {
  const d = await startTestDaemon();
  t.teardown(() => d.stop());
  const call = api(d.httpUrl!, d.rootToken());
  const plain = { raw: '{"a":1}', headers: { "content-type": "text/plain" } };
  for (const [path, extra] of [
    ["/api/call/echo/echo", {}],
    ["/api/call/echo/echo", { accept: "text/event-stream" }],
    ["/auth/login", {}],
  ] as const) {
    const r = await call("POST", path, { ...plain, headers: { ...plain.headers, ...extra } });
    t.equal(r.status, 415, `POST ${path} ${JSON.stringify(extra)}`);
    t.match(r.json?.error, { code: ErrorCodes.InvalidRequest, message: /Content-Type: application\/json/ });
  }
});

t.test("regression: WebSocket sessions had no cap (http.ws.maxConnections)", async (t) => {
  const d = await startTestDaemon(undefined, { http: { ws: { maxConnections: 2 } } });
  t.teardown(() => d.stop());
  const url = `${d.httpUrl!.replace(/^http/, "ws")}/ws/plugins`;
  const headers = { authorization: `Bearer ${d.rootToken()}` };
  const open = [await WsClient.open(url, headers), await WsClient.open(url, headers)];
  t.teardown(() => open.forEach((c) => c.ws.terminate()));
  const refused = await WsClient.open(url, headers).then(
    (c) => (c.ws.terminate(), undefined),
    (e: { status?: number; body?: { error?: { code: number; message: string } } }) => e,
  );
  t.equal(refused?.status, 503, "a third session is refused");
  t.match(refused?.body?.error, { code: ErrorCodes.Overloaded, message: /http\.ws\.maxConnections/ });
  open[0].ws.close();
  await d.waitFor(async () => {
    const c = await WsClient.open(url, headers).catch(() => undefined);
    c?.ws.terminate();
    return c !== undefined;
  }, "a session to be admitted once one closed");
});

t.test("a WebSocket consumer that does not read is closed at http.ws.maxBufferedBytes, the daemon's memory bounded", async (t) => {
  const d = await startTestDaemon(undefined, { http: { ws: { maxBufferedBytes: 1024 * 1024 } } });
  t.teardown(() => d.stop());
  const url = `${d.httpUrl!.replace(/^http/, "ws")}/ws/plugins`;
  const c = await WsClient.open(url, { authorization: `Bearer ${d.rootToken()}` });
  t.teardown(() => c.ws.terminate());
  await c.next((m) => m.type === "bootstrap", "bootstrap");
  const peak = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${d.proc.pid}/status`, "utf8"))?.[1]) / 1024;
  const before = peak();
  // The client stops reading, then asks for 100 answers of 128 KiB (12.5 MB, over the 1 MiB bound).
  const raw = (c.ws as unknown as { _socket: Socket })._socket;
  raw.pause();
  const blob = "x".repeat(128 * 1024);
  for (let i = 0; i < 100; i++) c.send({ action: "CALL", id: i, method: "echo.echo", params: { blob } });
  await d.logLine("http.ws.maxBufferedBytes", "the daemon to give up on the slow consumer", 60_000);
  raw.resume();
  const closed = await c.closedWith(60_000);
  t.equal(closed.code, 1013, "closed with 1013 (try again later)");
  t.ok(peak() - before < 150, `the daemon's peak RSS grew by ${Math.round(peak() - before)} MB, under 150 MB`);
});
