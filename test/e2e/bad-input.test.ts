import { createConnection } from "node:net";
import t from "tap";
import { ErrorCodes } from "@bkg/protocol";
import { echoManifest, rogueManifest, startTestDaemon } from "../helpers/daemon.js";

const frame = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** Sends raw bytes on a fresh socket connection and collects parsed replies. */
function rawSocket(path: string) {
  const s = createConnection(path);
  // Bytes, not a string: Content-Length counts bytes.
  let buf = Buffer.alloc(0);
  const replies: any[] = [];
  s.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const m = /^Content-Length: (\d+)\r\n\r\n/.exec(buf.toString("latin1", 0, 40));
      if (!m || buf.length < m[0].length + Number(m[1])) return;
      replies.push(JSON.parse(buf.toString("utf8", m[0].length, m[0].length + Number(m[1]))));
      buf = buf.subarray(m[0].length + Number(m[1]));
    }
  });
  const closed = new Promise<void>((r) => s.on("close", () => r()));
  return {
    send: (raw: string) => s.write(raw),
    replies,
    closed,
    next: async (n: number) => {
      const until = Date.now() + 5000;
      while (replies.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      return replies[n - 1];
    },
    end: () => s.destroy(),
  };
}

t.test("garbage from a socket client", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");

  const s = rawSocket(d.socketPath);
  s.send(frame("{not json"));
  t.match(await s.next(1), { jsonrpc: "2.0", id: null, error: { code: ErrorCodes.ParseError } }, "malformed JSON gets -32700");
  s.send(frame(JSON.stringify({ hello: "world" })));
  t.match(await s.next(2), { id: null, error: { code: ErrorCodes.InvalidRequest, message: /jsonrpc/ } }, "JSON that is not JSON-RPC gets -32600");
  s.send(frame(JSON.stringify([{ jsonrpc: "2.0", id: 1, method: "echo.echo" }])));
  t.match(await s.next(3), { error: { code: ErrorCodes.InvalidRequest, message: /batches/ } });
  s.send(frame(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "echo.reverse", params: { text: "still up" } })));
  t.match(await s.next(4), { id: 7, result: "pu llits" }, "the same connection keeps working");
  s.send(frame(JSON.stringify({ jsonrpc: "2.0", id: 8, method: "echo.reverse", params: ["positional"] })));
  t.match(await s.next(5), { id: 8, error: { code: ErrorCodes.InvalidParams, message: /must be a JSON object/ } });
  s.end();

  const s2 = rawSocket(d.socketPath);
  s2.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  t.match(await s2.next(1), { error: { code: ErrorCodes.ParseError, message: /Content-Length/ } }, "broken framing gets -32700 ...");
  await s2.closed;
  t.pass("... and the connection is closed, since the stream cannot be resynchronised");

  t.equal(await d.client.call("echo.reverse", { text: "ok" }), "ko", "the daemon and other clients are unaffected");
});

t.test("garbage from a plugin", async (t) => {
  const d = await startTestDaemon({
    echo: echoManifest(),
    rogue: rogueManifest("rogue", "ok", { limits: { maxMessageBytes: 1_000_000 } }),
    loud: rogueManifest("loud", "garbage-start", { restart: { maxRestarts: 2, windowMs: 60000, backoff: { initialMs: 10 } } }),
  });
  t.teardown(() => d.stop());
  await d.waitState("rogue", "ready");
  const c = d.client;

  for (const [method, why] of [
    ["garble", /garbage on stdout/],
    ["nolength", /no Content-Length/],
    ["huge", /over the limit of 1000000 bytes/],
  ] as const) {
    const { pid } = (await c.call("rogue.ok", {}, { timeoutMs: 5000 })) as { pid: number };
    const e = await c.call(`rogue.${method}`, { bytes: 2_000_000 }, { timeoutMs: 5000 }).catch((e) => e);
    t.equal(e.code, ErrorCodes.PluginCrashed, `${method}: the in-flight call fails with -33004`);
    t.match(e.message, why);
    t.throws(() => process.kill(pid, 0), `${method}: the instance was killed`);
    const again = (await c.call("rogue.ok", {}, { timeoutMs: 5000 })) as { pid: number };
    t.not(again.pid, pid, `${method}: a new instance serves`);
  }
  t.equal(await c.call("echo.reverse", { text: "calm" }), "mlac", "other plugins never notice");

  await d.waitState("loud", "crashloop", 15_000);
  t.match((await c.plugins.info("loud")).lastExit?.reason, /garbage on stdout.*hello from a plugin/);
});

t.test("regression: a plugin that stops reading its stdin had the daemon buffer its input without bound", async (t) => {
  // Long call and health timeouts: what ends the instance must be the input bound (2 x maxMessageBytes).
  const d = await startTestDaemon({
    deaf: rogueManifest("deaf", "ok", { limits: { maxMessageBytes: 1_000_000 }, timeouts: { call: 600_000 }, health: { intervalMs: 600_000, timeoutMs: 5_000, misses: 3 } }),
  });
  t.teardown(() => d.stop());
  await d.waitState("deaf", "ready");
  const c = d.client;
  const { pid } = (await c.call("deaf.deaf", {})) as { pid: number };
  // 20 calls of 500 kB: 10 MB for a plugin that reads nothing (the bound is 2 MB).
  const blob = "x".repeat(500_000);
  // (A call deadline only so that the code before the fix fails instead of waiting.)
  const calls = Array.from({ length: 20 }, () => c.call("deaf.ok", { blob }, { timeoutMs: 20_000 }).catch((e) => e));
  const errors = await Promise.all(calls);
  const codes = errors.map((e) => e?.code);
  t.equal(codes[0], ErrorCodes.PluginCrashed, "the calls written to it fail -33004");
  t.ok(
    codes.every((code) => code === ErrorCodes.PluginCrashed || code === ErrorCodes.PluginUnavailable),
    `the rest find it gone (-33000): ${[...new Set(codes)].join(", ")}`,
  );
  t.match(errors[0].message, /stopped reading its stdin/);
  t.throws(() => process.kill(pid, 0), "the instance was killed");
  await d.waitFor(async () => (await c.plugins.info("deaf")).lastExit !== undefined, "the exit to be recorded");
  t.match((await c.plugins.info("deaf")).lastExit?.reason, /hung: it stopped reading its stdin \(\d+ bytes unread/);
});

t.test("requests in bkg's key order pass through unparsed; every other shape is answered the same", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  const s = rawSocket(d.socketPath);
  t.teardown(() => s.end());
  const bodies = [
    '{"jsonrpc":"2.0","id":1,"method":"echo.echo","params":{"a":[1,{"b":"ü🎉"}],"n":null}}',
    '{"method":"echo.echo","params":{"a":[1,{"b":"ü🎉"}],"n":null},"id":2,"jsonrpc":"2.0"}',
    '{"jsonrpc":"2.0","id":"three","method":"echo.echo","params":{ "a" : [1,{"b":"\\u00fc🎉"}], "n":null }}',
    '{"jsonrpc":"2.0","id":4,"method":"echo.sleep","params":{"ms":2000,"_meta":{"timeoutMs":50}}}',
    '{"jsonrpc":"2.0","id":5,"method":"echo.sleep","params":{"ms":2000,"\\u005fmeta":{"timeoutMs":50}}}',
    '{"jsonrpc":"2.0","id":6,"method":"echo.reverse","params":{"text":5}}',
    `{"jsonrpc":"2.0","id":7,"method":"echo.echo","params":{"x":${"[".repeat(200)}${"]".repeat(200)}}}`,
    '{"jsonrpc":"2.0","id":8,"method":"bkg.plugins.info","params":{"name":"echo"}}',
    '{"jsonrpc":"2.0","id":9,"method":"echo.echo","params":[1]}',
  ];
  for (const b of bodies) s.send(frame(b));
  await s.next(bodies.length);
  const byId = new Map(s.replies.map((r) => [r.id, r]));
  const echoed = { a: [1, { b: "ü🎉" }], n: null };
  t.same(byId.get(1), { jsonrpc: "2.0", id: 1, result: echoed }, "bkg's own key order");
  t.same(byId.get(2)?.result, echoed, "another key order");
  t.same(byId.get("three")?.result, echoed, "a string id, whitespace and an escape");
  t.equal(byId.get(4)?.error?.code, ErrorCodes.DeadlineExceeded, "_meta.timeoutMs still applies");
  t.equal(byId.get(5)?.error?.code, ErrorCodes.DeadlineExceeded, "also when _meta is written with an escape");
  t.match(byId.get(6)?.error, { code: ErrorCodes.InvalidParams, data: { errors: [{ path: "/text" }] } }, "the method's schema still checks the params");
  t.equal(byId.get(7)?.error?.code, ErrorCodes.InvalidParams, "params past limits.jsonDepth are still refused");
  t.equal(byId.get(8)?.result?.name, "echo", "a control method gets its params");
  t.equal(byId.get(9)?.error?.code, ErrorCodes.InvalidParams, "array params are still refused");
});
