/** RpcPeer behaviour at stream boundaries. */
import { PassThrough } from "node:stream";
import t from "tap";
import { CancelToken, RawJson, RpcPeer, encodeFrame } from "@bkg/protocol";

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

/** A peer on two pipes, with what it writes collected as parsed messages. */
function wiredPeer(options: ConstructorParameters<typeof RpcPeer>[2] = {}) {
  const input = new PassThrough();
  const output = new PassThrough();
  const peer = new RpcPeer(input, output, options);
  let text = "";
  output.on("data", (d) => {
    text += String(d);
  });
  const frame = (b: string) => `Content-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
  const written = () => text.split(/Content-Length: \d+\r\n\r\n/).filter(Boolean);
  return { peer, send: (b: string) => input.write(frame(b)), written, settle: () => new Promise((r) => setTimeout(r, 10)) };
}

t.test("rawResult: a result in bkg's key order arrives as RawJson, byte for byte; any other answer as before", async (t) => {
  const { peer, send, settle } = wiredPeer({ maxDepth: 8 });
  peer.listen();
  const call = (raw: boolean) => new Promise((resolve, reject) => peer.send("m", {}, { resolve, reject }, undefined, raw));
  const outcomes = Promise.allSettled([call(true), call(true), call(true), call(false), call(true), call(true)]);
  send('{"jsonrpc":"2.0","id":1,"result":{"a" : [1,"ü"] }}');
  send('{"id":2,"jsonrpc":"2.0","result":{"b":2}}');
  send('{"jsonrpc":"2.0","id":3,"result":[[[[[[[[[[1]]]]]]]]]]}');
  send('{"jsonrpc":"2.0","id":4,"result":{"c":3}}');
  send('{"jsonrpc":"2.0","id":5,"result":1,"id":2}');
  send('{"jsonrpc":"2.0","id":6,"error":{"code":-32000,"message":"no"}}');
  await settle();
  peer.dispose();
  const [one, two, three, four, five, six] = await outcomes;
  t.ok(one.status === "fulfilled" && one.value instanceof RawJson, "the canonical answer passes through");
  t.equal(one.status === "fulfilled" && (one.value as RawJson).text, '{"a" : [1,"ü"] }', "as the exact text of the result");
  t.same(two, { status: "fulfilled", value: { b: 2 } }, "another key order is parsed");
  t.match(three, { status: "rejected", reason: { code: -32603 } }, "an answer past maxDepth is refused as before");
  t.same(four, { status: "fulfilled", value: { c: 3 } }, "a request sent without rawResult gets a value");
  t.match(five, { status: "rejected", reason: { code: -32097 } }, "text after the result (a second id) is not passed through: parsed, it answers id 2, already answered");
  t.match(six, { status: "rejected", reason: { code: -32000, message: "no" } }, "an error answer rejects as before");
});

t.test("rawParams: the catch-all handler gets params as RawJson when they can pass through; named handlers and other shapes get values", async (t) => {
  const framingErrors: string[] = [];
  const { peer, send, written, settle } = wiredPeer({ maxDepth: 4, rawParams: true, onFramingError: (e) => framingErrors.push(e.kind) });
  const seen: [string, unknown][] = [];
  peer.onRequest("named", (p) => {
    seen.push(["named", p]);
    return p;
  });
  peer.onAnyRequest((method, p) => {
    seen.push([method, p]);
    return p;
  });
  peer.listen();
  const bodies = [
    '{"jsonrpc":"2.0","id":1,"method":"a.b","params":{"x":[1,{"y":"z"}]}}',
    '{"jsonrpc":"2.0","id":"s-2","method":"a.b","params":{}}',
    '{"jsonrpc":"2.0","id":3,"method":"named","params":{"x":1}}',
    '{"jsonrpc":"2.0","id":4,"method":"a.b","params":{"_meta":{"timeoutMs":5},"x":1}}',
    '{"jsonrpc":"2.0","id":5,"method":"a.b","params":[1]}',
    '{"jsonrpc":"2.0","id":6,"method":"a.b","params":{"x":[[[[1]]]]}}',
    '{"method":"a.b","jsonrpc":"2.0","id":7,"params":{"x":1}}',
    '{"jsonrpc":"2.0","id":8,"method":"a.b","params":{"x":1}} ',
    '{"jsonrpc":"2.0","id":9,"method":"a.b","params":{"x":1,}}',
  ];
  for (const b of bodies) send(b);
  await settle();
  const raw = seen.filter(([, p]) => p instanceof RawJson).map(([m, p]) => [m, (p as RawJson).text]);
  t.same(
    raw,
    [
      ["a.b", '{"x":[1,{"y":"z"}]}'],
      ["a.b", "{}"],
    ],
    "only the first two pass through",
  );
  t.same(
    seen.filter(([, p]) => !(p instanceof RawJson)),
    [
      ["named", { x: 1 }],
      ["a.b", { _meta: { timeoutMs: 5 }, x: 1 }],
      ["a.b", [1]],
      ["a.b", { x: 1 }],
      ["a.b", { x: 1 }],
    ],
    "a named method, a _meta member, array params, another key order and trailing space are parsed",
  );
  const answers = written().map((b) => JSON.parse(b));
  t.same(
    answers.find((a) => a.id === 1),
    { jsonrpc: "2.0", id: 1, result: { x: [1, { y: "z" }] } },
    "a RawJson result is written as the value it holds",
  );
  t.equal(
    written().find((b) => b.includes('"s-2"')),
    '{"jsonrpc":"2.0","id":"s-2","result":{}}',
    "a string id is answered as a string",
  );
  t.match(
    answers.find((a) => a.id === 6),
    { error: { code: -32602 } },
    "params past maxDepth are refused -32602, as before",
  );
  t.same(framingErrors, ["json"], "invalid JSON is a framing error, as before");
  peer.dispose();
});
