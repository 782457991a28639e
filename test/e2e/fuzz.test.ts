/**
 * Fuzzing the daemon's surfaces (hardening issue): random frames, params, method names, paths,
 * headers and WebSocket messages at the unix socket, HTTP and the WebSocket, while a steady
 * load of well-formed calls runs beside them. The daemon must stay up, answer every
 * well-formed call exactly once (with its result or an error), and keep its memory bounded.
 * Bounded in time (FUZZ_MS, default 30 s) and in count; generated with fast-check, so a
 * failing run prints the seed to replay it (FUZZ_SEED).
 */
import { readFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import fc from "fast-check";
import t from "tap";
import WebSocket from "ws";
import { echoManifest, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

const FUZZ_MS = Number(process.env.FUZZ_MS ?? 30_000);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const RSS_LIMIT_MB = 600;

const frame = (body: string | Buffer) => Buffer.concat([Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`), Buffer.from(body)]);
const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

// --- what the fuzzers throw -------------------------------------------------------------------

const PROTO_NAMES = ["constructor", "__proto__", "toString", "hasOwnProperty", "prototype", "valueOf", "__defineSetter__"];
const methodName = fc.oneof(
  fc.constantFrom(...PROTO_NAMES),
  fc.constantFrom(
    "echo.echo",
    "echo.reverse",
    "echo.sleep",
    "echo.stream",
    "echo.fail",
    "echo.nope",
    "bkg.status",
    "bkg.plugins.list",
    "bkg.plugins.info",
    "bkg.subscribe",
    "bkg.unsubscribe",
    "bkg.events",
    "nope.nope",
  ),
  fc.string({ maxLength: 40 }),
  fc.tuple(fc.constantFrom("echo", "bkg", ...PROTO_NAMES), fc.constantFrom(...PROTO_NAMES, "echo", "reverse", "")).map(([a, b]) => `${a}.${b}`),
);
const meta = fc.record(
  {
    timeoutMs: fc.oneof(fc.integer({ min: -5, max: 3000 }), fc.constantFrom(0, 2 ** 31, 2 ** 53, -1, 1e300), fc.double()),
    deadline: fc.oneof(fc.integer(), fc.double()),
    progressToken: fc.oneof(fc.string(), fc.integer(), fc.jsonValue()),
  },
  { requiredKeys: [] },
);
const params = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }),
  fc.record({ text: fc.string(), ms: fc.integer({ min: 0, max: 200 }), n: fc.integer({ min: 0, max: 20 }), _meta: meta }, { requiredKeys: [] }),
  fc.record({ topics: fc.oneof(fc.string(), fc.array(fc.string()), fc.jsonValue()), plugin: fc.jsonValue(), name: fc.oneof(fc.string(), fc.constantFrom(...PROTO_NAMES)) }, { requiredKeys: [] }),
);
/** A JSON-RPC-ish message as text: valid, almost valid, deep, or not JSON at all. */
const socketBody = fc.oneof(
  { weight: 4, arbitrary: fc.record({ jsonrpc: fc.constant("2.0"), id: fc.oneof(fc.nat(), fc.string({ maxLength: 8 })), method: methodName, params }).map((m) => JSON.stringify(m)) },
  fc
    .record({ jsonrpc: fc.constantFrom("2.0", "1.0", undefined), id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.jsonValue()), method: methodName, params }, { requiredKeys: [] })
    .map((m) => JSON.stringify(m)),
  fc.integer({ min: 200, max: 20_000 }).map((d) => `{"jsonrpc":"2.0","id":1,"method":"echo.echo","params":{"x":${nested(d)}}}`),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
);
/** Bytes on the socket: well-framed bodies, or framing that is wrong in one of many ways. */
const socketBytes = fc.oneof(
  { weight: 6, arbitrary: socketBody.map((b) => frame(b)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 2 ** 40 }), socketBody).map(([n, b]) => Buffer.from(`Content-Length: ${n}\r\n\r\n${b}`)) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 60 }), socketBody).map(([h, b]) => Buffer.from(`${h}\r\n\r\n${b}`)) },
  { weight: 1, arbitrary: socketBody.map((b) => frame(b).subarray(0, Math.max(1, Math.floor(Buffer.byteLength(b) / 2)))) },
);

const httpPath = fc.oneof(
  fc.tuple(fc.constantFrom("echo", "nope", ...PROTO_NAMES, "%2e%2e", "..", ""), fc.constantFrom("echo", "reverse", "sleep", ...PROTO_NAMES, "")).map(([p, m]) => `/api/call/${p}/${m}`),
  fc.constantFrom(
    "/api/plugins",
    "/api/plugins/echo",
    "/api/plugins/__proto__",
    "/api/plugins/echo/logs?limit=99999",
    "/api/events?since=zz",
    "/metrics",
    "/health",
    "/auth/login",
    "/api/keys",
    "/openapi.json",
    "/../../etc/passwd",
    "/api/call/echo/reverse?timeoutMs=99999999999",
  ),
  fc.webPath(),
  fc.string({ maxLength: 60 }).map((s) => `/${encodeURIComponent(s)}`),
);
const httpBody = fc.oneof(
  fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)),
  fc.integer({ min: 200, max: 20_000 }).map((d) => `{"x":${nested(d)}}`),
  fc.string({ maxLength: 300 }),
  fc.constant(""),
);
/** A raw HTTP/1.1 request, sometimes malformed: wrong lengths, odd content types, junk headers. */
const httpRequest = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW", ""),
  path: httpPath,
  body: httpBody,
  contentType: fc.constantFrom("application/json", "text/plain", "application/json; charset=latin1", "multipart/form-data", "", "application/x-www-form-urlencoded"),
  auth: fc.constantFrom("root", "none", "garbage", "jwt"),
  lengthSkew: fc.constantFrom(0, 0, 0, -3, 5, 1e9),
  junk: fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,20}$/), fc.string({ maxLength: 50 })), { maxLength: 4 }),
});
type HttpRequest = typeof httpRequest extends fc.Arbitrary<infer T> ? T : never;

const wsMessage = fc.oneof(
  fc
    .record(
      {
        action: fc.constantFrom("AUTH", "SUB", "UNSUB", "CALL", "CANCEL", "__proto__", "constructor", "call"),
        id: fc.oneof(fc.integer(), fc.string(), fc.jsonValue()),
        method: methodName,
        params,
        topic: fc.oneof(fc.constantFrom("status", "logs", "events", "telemetry", "__proto__", "constructor"), fc.string()),
        timeoutMs: fc.oneof(fc.integer(), fc.double(), fc.constant(2 ** 31)),
        token: fc.string(),
      },
      { requiredKeys: [] },
    )
    .map((m) => JSON.stringify(m)),
  fc.integer({ min: 200, max: 20_000 }).map((d) => `{"action":"CALL","id":1,"method":"echo.echo","params":{"x":${nested(d)}}}`),
  fc.string({ maxLength: 200 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);

// --- the well-formed load --------------------------------------------------------------------

/** A raw socket client that sends echo.echo calls and counts the answers per id. */
class CountingClient {
  readonly sent = new Map<number, string>();
  readonly answers = new Map<number, number>();
  readonly wrong: string[] = [];
  private buf = Buffer.alloc(0);
  private nextId = 0;
  private socket: Socket;
  private waiters: (() => void)[] = [];
  constructor(path: string) {
    this.socket = createConnection(path);
    this.socket.on("data", (chunk) => this.read(chunk));
    this.socket.on("error", (e) => this.wrong.push(`socket error: ${e.message}`));
  }
  call(): void {
    const id = ++this.nextId;
    const token = `v${id}-${Math.random().toString(36).slice(2)}`;
    this.sent.set(id, token);
    this.socket.write(frame(JSON.stringify({ jsonrpc: "2.0", id, method: "echo.echo", params: { token, _meta: { timeoutMs: 10_000 } } })));
  }
  get outstanding(): number {
    return this.sent.size - this.answers.size;
  }
  async drain(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.outstanding > 0 && Date.now() < until) await new Promise<void>((r) => this.waiters.push(r) && setTimeout(r, 50));
  }
  close(): void {
    this.socket.destroy();
  }
  private read(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const len = Number(/Content-Length: (\d+)/i.exec(this.buf.subarray(0, end).toString())?.[1]);
      if (this.buf.length < end + 4 + len) return;
      const msg = JSON.parse(this.buf.subarray(end + 4, end + 4 + len).toString());
      this.buf = this.buf.subarray(end + 4 + len);
      const id = msg.id as number;
      this.answers.set(id, (this.answers.get(id) ?? 0) + 1);
      if (!this.sent.has(id)) this.wrong.push(`an answer to id ${id}, which was never sent`);
      else if (msg.result !== undefined && msg.result?.token !== this.sent.get(id)) this.wrong.push(`id ${id} answered with another call's result`);
      for (const w of this.waiters.splice(0)) w();
    }
  }
}

// --- the fuzzers -------------------------------------------------------------------------------

async function fuzzSocket(d: TestDaemon, bytes: Buffer[]): Promise<void> {
  const s = createConnection(d.socketPath);
  s.on("error", () => undefined);
  s.on("data", () => undefined);
  await new Promise<void>((r) => s.once("connect", () => r()).once("error", () => r()));
  for (const b of bytes) if (!s.destroyed) s.write(b);
  await new Promise((r) => setTimeout(r, 30));
  s.destroy();
}

async function fuzzHttp(d: TestDaemon, r: HttpRequest): Promise<void> {
  const url = new URL(d.httpUrl!);
  const auth = r.auth === "root" ? `Bearer ${d.rootToken()}` : r.auth === "garbage" ? "Bearer \u0000\u00ff junk" : r.auth === "jwt" ? "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJyb290In0." : "";
  const body = Buffer.from(r.body);
  const head = [
    `${r.method} ${r.path} HTTP/1.1`,
    `Host: ${url.host}`,
    ...(auth ? [`Authorization: ${auth}`] : []),
    ...(r.contentType ? [`Content-Type: ${r.contentType}`] : []),
    `Content-Length: ${Math.max(0, body.length + r.lengthSkew)}`,
    ...r.junk.map(([k, v]) => `X-${k}: ${v.replace(/[\r\n]/g, " ")}`),
    "Connection: close",
  ].join("\r\n");
  await new Promise<void>((resolve) => {
    const s = createConnection(Number(url.port), url.hostname);
    const done = () => (s.destroy(), resolve());
    s.setTimeout(500, done);
    s.on("error", done);
    s.on("close", done);
    s.on("data", () => undefined);
    s.write(Buffer.concat([Buffer.from(`${head}\r\n\r\n`), body]));
  });
}

async function fuzzWs(d: TestDaemon, messages: string[], authed: boolean): Promise<void> {
  const url = `${d.httpUrl!.replace("http", "ws")}/ws/plugins`;
  await new Promise<void>((resolve) => {
    const ws = new WebSocket(url, { headers: authed ? { authorization: `Bearer ${d.rootToken()}` } : {} });
    const done = () => (ws.terminate(), resolve());
    const t = setTimeout(done, 1000);
    ws.on("error", () => (clearTimeout(t), resolve()));
    ws.on("unexpected-response", () => (clearTimeout(t), done()));
    ws.on("close", () => (clearTimeout(t), resolve()));
    ws.on("open", () => {
      for (const m of messages) ws.send(m);
      setTimeout(() => (clearTimeout(t), done()), 50);
    });
  });
}

t.test(`fuzz: socket, HTTP and WebSocket for ${FUZZ_MS} ms beside a well-formed load (seed ${SEED})`, async (t) => {
  const d = await startTestDaemon(
    { echo: echoManifest("echo", { concurrency: 64, restart: { maxRestarts: 1000, backoff: { initialMs: 20, maxMs: 200 } } }) },
    { logLevel: "warn", http: { rateLimit: { perCredential: 0, perIp: 0 } } },
  );
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  const pid = d.proc.pid!;
  const rssStart = rssMb(pid);
  let rssMax = rssStart;

  const load = new CountingClient(d.socketPath);
  const until = Date.now() + FUZZ_MS;
  let stop = false;
  const loadLoop = (async () => {
    while (!stop) {
      if (load.outstanding < 32) for (let i = 0; i < 8; i++) load.call();
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const rssLoop = (async () => {
    while (!stop) {
      rssMax = Math.max(rssMax, rssMb(pid));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  let rounds = 0;
  const rng = { seed: SEED };
  let run = 0;
  const sample = <T>(arb: fc.Arbitrary<T>, n: number): T[] => fc.sample(arb, { numRuns: n, seed: rng.seed + run++ });
  while (Date.now() < until && rounds < 5000) {
    rounds++;
    await Promise.all([fuzzSocket(d, sample(socketBytes, 1 + (rounds % 6))), ...sample(httpRequest, 2).map((r) => fuzzHttp(d, r)), fuzzWs(d, sample(wsMessage, 1 + (rounds % 5)), rounds % 3 !== 0)]);
    if (d.proc.exitCode !== null) break;
    // Plugins that exit and come back turn any request the daemon orphaned into a rejection.
    if (rounds % 25 === 0) await d.client.call("echo.crash", {}).catch(() => undefined);
  }
  stop = true;
  await Promise.all([loadLoop, rssLoop]);
  await load.drain(15_000);
  load.close();

  t.equal(d.proc.exitCode, null, `the daemon is still running after ${rounds} rounds`);
  t.ok(load.sent.size > 100, `the well-formed load sent ${load.sent.size} calls`);
  const unanswered = [...load.sent.keys()].filter((id) => !load.answers.has(id));
  const twice = [...load.answers].filter(([, n]) => n > 1).map(([id]) => id);
  t.same(unanswered.slice(0, 10), [], "every well-formed call was answered");
  t.same(twice.slice(0, 10), [], "none twice");
  t.same(load.wrong.slice(0, 10), [], "and each with its own result");
  t.ok(rssMax < RSS_LIMIT_MB, `daemon RSS stayed bounded: ${rssStart.toFixed(0)} -> max ${rssMax.toFixed(0)} MB (limit ${RSS_LIMIT_MB})`);
  await d.waitState("echo", "ready");
  t.equal(await d.client.call("echo.reverse", { text: "fuzz" }), "zzuf", "and it still serves a fresh client");
});
