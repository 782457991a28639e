/**
 * Batch frames: the outbox sends one frame per node (and run) per event-loop turn, in order,
 * split below the server's max_payload, and says which frames with calls could not leave; the
 * checks tell a frame and its items from anything else.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import t from "tap";
import { BatchOutbox } from "../../../src/cluster/batch-outbox.js";
import { callItemReason, frameReason, frameText, readReplyItem } from "../../../src/cluster/batch-wire.js";

interface Sent {
  subject: string;
  frame: Record<string, unknown>;
  reply?: string;
}

function fakeConnection(maxPayload: number, sent: Sent[]): NatsConnection {
  return {
    info: { max_payload: maxPayload },
    publish(subject: string, data: Uint8Array, opts?: { reply?: string }) {
      sent.push({ subject, frame: JSON.parse(Buffer.from(data).toString("utf8")), reply: opts?.reply });
    },
  } as unknown as NatsConnection;
}

const turn = () => new Promise((r) => setImmediate(r));
const self = { node: "a", run: "ra" };
const b = { node: "b", run: "rb" };
const c = { node: "c", run: "rc" };
const call = (id: number, text = "x") => JSON.stringify({ id, target: "echo.echo", params: { text }, budgetMs: 1000, caller: "t", stream: false });

t.test("one frame per node per turn, with the turn's calls, cancels and replies in order", async (t) => {
  const sent: Sent[] = [];
  const outbox = new BatchOutbox(
    self,
    () => fakeConnection(1 << 20, sent),
    "bkg.v1.reply.a.ra.",
    () => t.fail("nothing failed"),
  );
  const s1 = outbox.call(b, call(1), 10);
  const s2 = outbox.call(b, call(2), 10);
  outbox.cancel(b, 1);
  outbox.reply(b, JSON.stringify({ id: 7, t: "p", v: 1 }), 10);
  outbox.reply(b, JSON.stringify({ id: 7, t: "r", v: 2 }), 10);
  outbox.reply(c, JSON.stringify({ id: 9, t: "r", v: 3 }), 10);
  t.equal(s1, s2, "calls of one turn for one node share a frame");
  t.same(sent, [], "nothing is sent before the turn ends");
  await turn();
  t.equal(sent.length, 2, "two frames: one for b, one for c");
  const [toB, toC] = sent;
  t.equal(toB.subject, "bkg.v1.batch.b");
  t.equal(toB.reply, `bkg.v1.reply.a.ra.b${s1}`, "a frame with calls names itself in its reply subject");
  t.match(toB.frame, { v: 1, node: "a", run: "ra", to: "rb", cancels: [1] });
  t.same(
    (toB.frame.calls as { id: number }[]).map((x) => x.id),
    [1, 2],
  );
  t.same(toB.frame.replies, [
    { id: 7, t: "p", v: 1 },
    { id: 7, t: "r", v: 2 },
  ]);
  t.same(toC, { subject: "bkg.v1.batch.c", frame: { v: 1, node: "a", run: "ra", to: "rc", replies: [{ id: 9, t: "r", v: 3 }] }, reply: undefined }, "replies only: no reply subject");
  outbox.call(b, call(3), 10);
  await turn();
  t.equal(sent.length, 3, "the next turn's call goes in a new frame");
});

t.test("a frame that would pass max_payload is sent at once; the items keep their order", async (t) => {
  const sent: Sent[] = [];
  const max = 1024 + 300; // room for about two 120-byte items
  const outbox = new BatchOutbox(
    self,
    () => fakeConnection(max, sent),
    "p.",
    () => t.fail("nothing failed"),
  );
  t.equal(outbox.itemLimit(), 300);
  const seqs = [1, 2, 3, 4, 5].map((id) => outbox.call(b, call(id, "y".repeat(60)), 120));
  t.ok(sent.length >= 1, "full frames left during the turn");
  await turn();
  const ids = sent.flatMap((s) => (s.frame.calls as { id: number }[]).map((x) => x.id));
  t.same(ids, [1, 2, 3, 4, 5], "every call once, in order");
  t.ok(sent.length >= 3, `${sent.length} frames`);
  t.equal(new Set(seqs).size, sent.length, "each frame has its own number");
});

t.test("frames with calls that cannot leave are reported, by number", async (t) => {
  const failed: [number, string][] = [];
  const outbox = new BatchOutbox(
    self,
    () => undefined,
    "p.",
    (seq, why) => failed.push([seq, why]),
  );
  const seq = outbox.call(b, call(1), 10);
  outbox.reply(c, JSON.stringify({ id: 1, t: "r", v: 1 }), 10);
  await turn();
  t.same(failed, [[seq, "the connection to NATS is down"]]);
  const throwing = new BatchOutbox(
    self,
    () =>
      ({
        info: {},
        publish() {
          throw new Error("closed");
        },
      }) as unknown as NatsConnection,
    "p.",
    (s, why) => failed.push([s, why]),
  );
  const seq2 = throwing.call(b, call(2), 10);
  await turn();
  t.same(failed[1], [seq2, "closed"]);
});

t.test("bad input: what is not a frame, a call item or a reply item is told apart with a reason", async (t) => {
  t.equal(frameReason({ v: 1, node: "a", run: "r", to: "s" }), undefined);
  t.equal(frameReason({ node: "a", run: "r", to: "s" }), "no protocol version (v)");
  t.equal(frameReason({ v: 1, node: "a", run: "r" }), "no node, run or to");
  t.equal(frameReason({ v: 1, node: "a", run: "r", to: "s", calls: {} }), "calls, cancels or replies is not an array");
  t.equal(callItemReason(JSON.parse(call(1))), undefined);
  t.equal(callItemReason(null), "a call that is not an object");
  t.equal(callItemReason({ id: "1", target: "x.y", caller: "c" }), "no id, target or caller");
  t.equal(callItemReason({ id: 1, target: "x.y", caller: "c", params: [] }), "params is not an object");
  t.equal(callItemReason({ id: 1, target: "x.y", caller: "c", params: {}, budgetMs: "5" }), "no budgetMs");
  t.equal(callItemReason({ id: 1, target: "x.y", caller: "c", params: {}, budgetMs: 5 }), "no stream flag");
  t.same(readReplyItem({ id: 1, t: "r", v: null }), { id: 1, t: "r", v: null });
  t.same(readReplyItem({ id: 1, t: "n" }), { id: 1, t: "n" });
  t.same(readReplyItem({ id: 1, t: "e", code: -1, message: "m" }), { id: 1, t: "e", code: -1, message: "m" });
  for (const bad of [null, 5, { t: "r" }, { id: 1, t: "x" }, { id: 1, t: "e", code: "x", message: "m" }]) t.equal(readReplyItem(bad), undefined, JSON.stringify(bad));
  t.same(JSON.parse(frameText({ v: 1, node: "a", run: "r", to: "s" }, [], [], [])), { v: 1, node: "a", run: "r", to: "s" }, "a frame without items is still JSON");
});
