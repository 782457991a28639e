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
