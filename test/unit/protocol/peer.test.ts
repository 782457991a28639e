/** RpcPeer behaviour at stream boundaries. */
import { PassThrough } from "node:stream";
import t from "tap";
import { CancelToken, RpcPeer, encodeFrame } from "@bkg/protocol";

t.test("answers that arrive together with the end of the stream resolve their calls", async (t) => {
  const input = new PassThrough();
  const output = new PassThrough();
  const peer = new RpcPeer(input, output).listen();
  const calls = Array.from({ length: 50 }, (_, i) => peer.request("n", { i }));
  // The other side answers all fifty in one write and closes its end at once.
  input.end(Buffer.from(Array.from({ length: 50 }, (_, i) => encodeFrame({ jsonrpc: "2.0", id: i + 1, result: i })).join("")));
  const results = await Promise.allSettled(calls);
  t.same(
    results.map((r) => (r.status === "fulfilled" ? r.value : "rejected")),
    Array.from({ length: 50 }, (_, i) => i),
    "every call resolves with its answer; none is rejected as closed",
  );
  await new Promise((r) => setImmediate(r));
  t.equal(peer.isClosed, true, "then the peer is closed");
  t.rejects(peer.request("late"), { code: -32097 }, "after the end, requests fail as closed");
});

t.test("bug: params that cannot be encoded were recorded as pending, and the close rejected a promise no one held", async (t) => {
  const input = new PassThrough();
  const output = new PassThrough();
  const peer = new RpcPeer(input, output).listen();
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  t.teardown(() => process.off("unhandledRejection", onUnhandled));
  const deep = JSON.parse("[".repeat(20_000) + "]".repeat(20_000));
  t.throws(() => peer.request("echo", { deep }), RangeError, "the request throws to its caller, synchronously");
  t.throws(() => peer.request("echo", { n: 1n }), TypeError, "a BigInt too");
  input.end();
  await new Promise((r) => setTimeout(r, 20));
  t.same(unhandled, [], "closing the peer rejects nothing that no one listens to");
});

t.test("maxDepth: a deep request is answered -32602, a deep answer rejects its call with -32603, a deep notification is dropped", async (t) => {
  const input = new PassThrough();
  const output = new PassThrough();
  const refused: string[] = [];
  const peer = new RpcPeer(input, output, { maxDepth: 16, onTooDeep: (w) => refused.push(w) }).listen();
  const heard: unknown[] = [];
  peer.onNotification("note", (p) => heard.push(p));
  peer.onRequest("echo", (p) => p);
  const written: string[] = [];
  output.on("data", (d) => written.push(String(d)));
  const deep = "[".repeat(40) + "]".repeat(40);
  const call = peer.request("get");
  const frame = (b: string) => `Content-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
  input.write(frame(`{"jsonrpc":"2.0","id":1,"result":${deep}}`));
  await t.rejects(call, { code: -32603, message: /nested deeper than 16 levels/ });
  const req = `{"jsonrpc":"2.0","id":"r","method":"echo","params":{"x":${deep}}}`;
  const note = `{"jsonrpc":"2.0","method":"note","params":{"x":${deep}}}`;
  const ok = `{"jsonrpc":"2.0","method":"note","params":{"x":[[1]]}}`;
  for (const b of [req, note, ok]) input.write(frame(b));
  await new Promise((r) => setTimeout(r, 20));
  t.match(written.join(""), /"id":"r","error":\{"code":-32602,"message":"params of echo are nested deeper than 16 levels"/, "the deep request is answered -32602");
  t.same(heard, [{ x: [[1]] }], "the deep notification is dropped; a shallow one is delivered");
  t.equal(refused.length, 3, "each refusal is reported");
  peer.dispose();
});

t.test("onBackpressure reports the bytes waiting when the other side does not read, and only then", async (t) => {
  const input = new PassThrough();
  // Nobody reads this output: past its 1 KiB mark every write returns false.
  const output = new PassThrough({ highWaterMark: 1024 });
  const seen: number[] = [];
  const peer = new RpcPeer(input, output, { onBackpressure: (n) => seen.push(n) }).listen();
  peer.notify("small", { x: 1 });
  peer.flush();
  t.same(seen, [], "a write the stream takes is not reported");
  for (let i = 0; i < 5; i++) {
    peer.notify("big", { blob: "x".repeat(2000) });
    peer.flush();
  }
  t.equal(seen.length, 5, "each write it did not take is reported");
  t.ok(
    seen.every((n, i) => i === 0 || n > seen[i - 1]),
    `the waiting bytes grow: ${seen.join(", ")}`,
  );
  t.ok(seen[4] >= 10_000, "and count what was written");
});

t.test("bufferedBytes and partialSince show a half-received frame; inFlight the unanswered requests", async (t) => {
  const input = new PassThrough();
  const output = new PassThrough();
  const peer = new RpcPeer(input, output).listen();
  let release!: () => void;
  peer.onRequest("wait", () => new Promise<void>((r) => (release = r)));
  input.write(encodeFrame({ jsonrpc: "2.0", id: 1, method: "wait" }));
  await new Promise((r) => setImmediate(r));
  t.equal(peer.inFlight, 1);
  input.write("Content-Length: 100\r\n\r\n{");
  await new Promise((r) => setImmediate(r));
  t.equal(peer.bufferedBytes, 1);
  t.ok(peer.partialSince > 0);
  release();
  await new Promise((r) => setImmediate(r));
  t.equal(peer.inFlight, 0);
});

t.test("send: the answer goes to the caller's sink once; a cancellation sends $/cancelRequest until then; a close rejects what is left", async (t) => {
  const input = new PassThrough();
  const output = new PassThrough();
  const peer = new RpcPeer(input, output).listen();
  const written: string[] = [];
  output.on("data", (c: Buffer) => written.push(c.toString()));
  const seen: string[] = [];
  const sink = (name: string) => ({
    resolve: (v: unknown) => seen.push(`${name} resolved ${JSON.stringify(v)}`),
    reject: (e: unknown) => seen.push(`${name} rejected ${(e as { code?: number }).code}`),
  });
  const answered = new CancelToken();
  const cancelled = new CancelToken();
  peer.send("a", { n: 1 }, sink("a"), answered);
  peer.send("b", { n: 2 }, sink("b"), cancelled);
  peer.send("c", undefined, sink("c"));
  t.throws(() => peer.send("d", { n: 1n }, sink("d")), TypeError, "params JSON cannot carry throw to the caller, recording nothing");
  input.write(encodeFrame({ jsonrpc: "2.0", id: 1, result: "one" }));
  input.write(encodeFrame({ jsonrpc: "2.0", id: 1, result: "again" }));
  input.write(encodeFrame({ jsonrpc: "2.0", id: 3, error: { code: -32001, message: "no" } }));
  await new Promise((r) => setImmediate(r));
  t.same(seen, ['a resolved "one"', "c rejected -32001"], "each answer reaches its sink once, a second answer to the same id nothing");
  answered.abort();
  cancelled.abort();
  await new Promise((r) => setImmediate(r));
  const cancels = written.join("").match(/"method":"\$\/cancelRequest","params":\{"id":\d+\}/g) ?? [];
  t.same(cancels, ['"method":"$/cancelRequest","params":{"id":2}'], "only the unanswered request is cancelled: the answer unhooked the other");
  input.end();
  await new Promise((r) => setImmediate(r));
  t.same(seen.slice(2), ["b rejected -32097"], "the close rejects the request still pending, with PeerClosedError");
  const late: string[] = [];
  peer.send("e", {}, { resolve: () => late.push("resolved"), reject: (e) => late.push((e as Error).name) });
  t.same(late, ["PeerClosedError"], "a closed peer rejects the sink at once");
});
