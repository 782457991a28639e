/** RpcPeer behaviour at stream boundaries. */
import { PassThrough } from "node:stream";
import t from "tap";
import { RpcPeer, encodeFrame } from "@bkg/protocol";

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
  t.ok(seen.every((n, i) => i === 0 || n > seen[i - 1]), `the waiting bytes grow: ${seen.join(", ")}`);
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
