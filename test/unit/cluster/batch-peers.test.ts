/**
 * The two ends of a batch frame without NATS in between: a caller's frame to a node that is
 * leaving is answered "not taken" per call, and the caller turns that (and NATS's "no responders"
 * for a whole frame) into NotDelivered, which sends the call to another node. The router is not
 * reached on these paths; a router that fails the test if it is stands in for it.
 */
import { CancelToken } from "@bkg/protocol";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import t from "tap";
import type { Router } from "../../../src/bus/index.js";
import { BatchOutbox } from "../../../src/cluster/batch-outbox.js";
import type { BatchFrame } from "../../../src/cluster/batch-wire.js";
import type { RemoteNode } from "../../../src/cluster/membership.js";
import { NotDelivered, RemoteCaller } from "../../../src/cluster/remote-caller.js";
import { RemoteServer } from "../../../src/cluster/remote-server.js";

const turn = () => new Promise((r) => setImmediate(r));

function bus(): { nc: NatsConnection; sent: { subject: string; frame: BatchFrame; reply?: string }[] } {
  const sent: { subject: string; frame: BatchFrame; reply?: string }[] = [];
  const nc = {
    info: { max_payload: 1 << 20 },
    publish(subject: string, data: Uint8Array, opts?: { reply?: string }) {
      sent.push({ subject, frame: JSON.parse(Buffer.from(data).toString("utf8")), reply: opts?.reply });
    },
  } as unknown as NatsConnection;
  return { nc, sent };
}

const node = (name: string): RemoteNode => ({ node: name, run: `${name}-run`, version: "1", hostname: "h", pid: 1, plugins: new Map(), lastSeen: Date.now(), inflight: 0, batch: true });

t.test('a leaving node answers each call of a frame "not taken"; the caller makes it NotDelivered', async (t) => {
  const a = bus();
  const b = bus();
  const aSelf = { node: "a", run: "a-run" };
  const aOut = new BatchOutbox(
    aSelf,
    () => a.nc,
    "bkg.v1.reply.a.a-run.",
    (seq, why) => caller.batchFailed(seq, why),
  );
  const caller = new RemoteCaller(aSelf, { connection: () => a.nc, downReason: () => "down" }, undefined, aOut);
  const bOut = new BatchOutbox(
    { node: "b", run: "b-run" },
    () => b.nc,
    "bkg.v1.reply.b.b-run.",
    () => t.fail("b sends no calls"),
  );
  const router = { call: () => t.fail("a leaving node does not run calls") } as unknown as Router;
  const server = new RemoteServer(
    { node: "b" },
    () => b.nc,
    router,
    10,
    (_s, why) => t.fail(`nothing foreign: ${why}`),
    bOut,
  );
  server.leaving = true;

  const target = node("b");
  const calls = [1, 2].map((i) => caller.send(target, "echo.echo", { i }, Date.now() + 5000, new CancelToken(), { caller: "t" }).catch((e) => e));
  t.equal(target.inflight, 2);
  await turn();
  t.equal(a.sent.length, 1, "both calls in one frame");
  server.onBatch(a.sent[0].frame, a.sent[0].subject);
  await turn();
  t.same(b.sent[0].frame.replies, [
    { id: 1, t: "n" },
    { id: 2, t: "n" },
  ]);
  caller.onBatchReplies("b", b.sent[0].frame.replies!);
  for (const e of await Promise.all(calls)) t.ok(e instanceof NotDelivered, "not delivered: the call may go to another node");
  t.equal(target.inflight, 0, "their slots are free");
});

t.test('"no responders" for a frame fails its calls as NotDelivered, and only them', async (t) => {
  const a = bus();
  const self = { node: "a", run: "a-run" };
  const out = new BatchOutbox(
    self,
    () => a.nc,
    "bkg.v1.reply.a.a-run.",
    (seq, why) => caller.batchFailed(seq, why),
  );
  const caller = new RemoteCaller(self, { connection: () => a.nc, downReason: () => "down" }, undefined, out);
  const gone = node("gone");
  const other = node("other");
  const lost = caller.send(gone, "echo.echo", {}, Date.now() + 5000, new CancelToken(), { caller: "t" }).catch((e) => e);
  const kept = caller.send(other, "echo.echo", {}, Date.now() + 5000, new CancelToken(), { caller: "t" });
  await turn();
  const toGone = a.sent.find((s) => s.subject === "bkg.v1.batch.gone")!;
  t.match(toGone.reply, /^bkg\.v1\.reply\.a\.a-run\.b\d+$/);
  caller.onReply({ subject: toGone.reply!, headers: { code: 503 }, data: new Uint8Array() } as unknown as Msg);
  t.ok((await lost) instanceof NotDelivered);
  t.equal(caller.inflightOn("other"), 1, "the other node's call is still in flight");
  // A reply from a node other than the one the call went to is not taken for it.
  caller.onBatchReplies("gone", [{ id: 2, t: "r", v: "spoofed" }]);
  t.equal(caller.inflightOn("other"), 1);
  caller.onBatchReplies("other", [{ id: 2, t: "r", v: "ok" }]);
  t.equal(await kept, "ok");
});

t.test("a frame with calls that cannot be published fails them -33000, saying why", async (t) => {
  let up = true;
  const a = bus();
  const self = { node: "a", run: "a-run" };
  const out = new BatchOutbox(
    self,
    () => (up ? a.nc : undefined),
    "p.",
    (seq, why) => caller.batchFailed(seq, why),
  );
  const caller = new RemoteCaller(self, { connection: () => a.nc, downReason: () => "down" }, undefined, out);
  const call = caller.send(node("b"), "echo.echo", {}, Date.now() + 5000, new CancelToken(), { caller: "t" }).catch((e) => e);
  up = false;
  await turn();
  t.match(await call, { code: -33000, message: "echo.echo could not be sent to node b: the connection to NATS is down" });
});
