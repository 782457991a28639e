/**
 * Batch frames (src/cluster/batch-wire.ts): many calls made on node a in one event-loop turn go
 * to node b as few NATS messages, with a mix of results, errors, progress, cancellations and
 * deadlines, each answered once and correctly. Node c runs with cluster.batch false, as a node
 * from before batch frames: it is sent single messages and answers with single messages. A spy
 * connection on the bus counts what actually crossed it. Bad batch frames are ignored or answered
 * with a per-call error.
 */
import { connect as natsConnect, type NatsConnection } from "@nats-io/transport-node";
import t from "tap";
import type { BkgError } from "@bkg/protocol";
import { echoManifest, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { startNats, type TestNats } from "../helpers/nats.js";

t.setTimeout(300_000);
let nats: TestNats;
let spy: NatsConnection;
let a: TestDaemon;
let b: TestDaemon;
let c: TestDaemon;

const clusterConfig = (nodeId: string, url: string, cluster: Record<string, unknown> = {}) => ({
  storage: { nodeId },
  telemetry: { flushMs: 500 },
  cluster: { nats: { servers: [url] }, heartbeatMs: 250, ...cluster },
});

async function waitServed(on: TestDaemon, node: string, plugin: string): Promise<void> {
  await on.waitFor(async () => (await on.client.cluster.plugins()).some((p) => p.node === node && p.name === plugin && p.ready), `${plugin} on node ${node} to be seen as ready`);
}

/**
 * Every JSON message on `subject` from now on, decoded (the junk this file sends is skipped).
 * Resolves once nats-server has the subscription (a flush is a round trip after the SUB), so a
 * message sent right after is seen.
 */
async function record(subject: string): Promise<Record<string, unknown>[]> {
  const seen: Record<string, unknown>[] = [];
  spy.subscribe(subject, {
    callback: (_e, m) => {
      try {
        seen.push(m.json());
      } catch {
        /* not JSON: the bad-input test's junk */
      }
    },
  });
  await spy.flush();
  return seen;
}

const settle = (p: Promise<unknown>) =>
  p.then(
    (v) => ({ ok: true as const, v }),
    (e: BkgError) => ({ ok: false as const, code: e.code, message: e.message }),
  );

/**
 * 100 calls from `from` to `plugin` (served elsewhere) started in one turn: results, plugin
 * errors, bad params, streams, cancellations (at once, and once running) and deadlines.
 */
async function mixedLoad(t: Tap.Test, from: TestDaemon, serving: TestDaemon, plugin: string): Promise<void> {
  const call = (method: string, params: Record<string, unknown>, opts: Parameters<TestDaemon["client"]["call"]>[2] = {}) => settle(from.client.call(`${plugin}.${method}`, params, opts));
  const cancelledBefore = serving.events.filter((ev) => ev.kind === "plugin" && ev.plugin === plugin && ev.event === `${plugin}.sleep.cancelled`).length;
  const progress: unknown[][] = Array.from({ length: 10 }, () => []);
  const early = new AbortController();
  const late = new AbortController();
  const reverse = Array.from({ length: 50 }, (_, i) => call("reverse", { text: `call ${i}` }));
  const fails = Array.from({ length: 10 }, (_, i) => call("fail", { message: `failure ${i}`, code: -33010 - i }));
  const invalid = Array.from({ length: 5 }, () => call("reverse", { text: 5 }));
  const streams = progress.map((seen, i) => call("stream", { n: 20 + i }, { onProgress: (v) => seen.push(v) }));
  const cancelledAtOnce = Array.from({ length: 5 }, () => call("sleep", { ms: 60_000 }, { signal: early.signal }));
  const cancelledRunning = Array.from({ length: 5 }, () => call("sleep", { ms: 60_000 }, { signal: late.signal }));
  const deadlines = Array.from({ length: 15 }, () => call("sleep", { ms: 60_000 }, { timeoutMs: 400 }));
  early.abort();

  for (const [i, r] of (await Promise.all(reverse)).entries()) t.same(r, { ok: true, v: [...`call ${i}`].reverse().join("") }, `reverse ${i}`);
  for (const [i, r] of (await Promise.all(fails)).entries()) t.match(r, { ok: false, code: -33010 - i, message: `failure ${i}` }, `fail ${i}: its code and message`);
  for (const r of await Promise.all(invalid)) t.match(r, { ok: false, code: -32602, message: /invalid params/ }, "bad params: -32602 from the serving node");
  for (const [i, r] of (await Promise.all(streams)).entries()) {
    t.same(r, { ok: true, v: { count: 20 + i } }, `stream ${i}: its result`);
    t.same(
      progress[i],
      Array.from({ length: 20 + i }, (_, k) => ({ i: k })),
      `stream ${i}: every progress value, in order, before the result`,
    );
  }
  for (const r of await Promise.all(cancelledAtOnce)) t.match(r, { ok: false, code: -32800 }, "cancelled in the turn it was made: -32800");
  await serving.waitFor(async () => (await serving.client.plugins.info(plugin)).instances.reduce((n, i) => n + i.inflight, 0) >= 5, "the running sleeps to be in flight");
  late.abort();
  for (const r of await Promise.all(cancelledRunning)) t.match(r, { ok: false, code: -32800 }, "cancelled while running: -32800");
  for (const r of await Promise.all(deadlines)) t.match(r, { ok: false, code: -33001 }, "deadline exceeded: -33001");
  await serving.waitFor(
    () => serving.events.filter((ev) => ev.kind === "plugin" && ev.plugin === plugin && ev.event === `${plugin}.sleep.cancelled`).length >= cancelledBefore + 20,
    "$/cancelRequest to reach the plugin for the 5 running cancelled calls and the 15 past their deadline",
  );
  await serving.waitFor(async () => (await serving.client.plugins.info(plugin)).instances.every((i) => i.inflight === 0), `nothing left in flight on ${plugin}`);
}

t.before(async () => {
  nats = await startNats();
  spy = await natsConnect({ servers: nats.url });
  const announces = await record("bkg.v1.announce");
  a = await startTestDaemon({ here: echoManifest("here") }, clusterConfig("a", nats.url));
  b = await startTestDaemon({ work: echoManifest("work") }, clusterConfig("b", nats.url));
  c = await startTestDaemon({ old: echoManifest("old") }, clusterConfig("c", nats.url, { batch: false }));
  await waitServed(a, "b", "work");
  await waitServed(a, "c", "old");
  await waitServed(c, "a", "here");
  t.ok(
    announces.some((m) => m.node === "b" && m.batch === 1),
    "b announces that it reads batch frames",
  );
  t.ok(announces.some((m) => m.node === "c") && announces.every((m) => m.node !== "c" || m.batch === undefined), "c (batch off) does not");
});
t.teardown(async () => {
  await spy?.close().catch(() => undefined);
  for (const d of [a, b, c]) await d?.stop().catch(() => undefined);
  await nats?.stop();
});

t.test("100 calls made on a in one turn cross to b in a few batch frames, each answered once and right", async (t) => {
  const frames = await record("bkg.v1.batch.b");
  const singles = await record("bkg.v1.call.b");
  const back = await record("bkg.v1.batch.a");
  await mixedLoad(t, a, b, "work");
  await spy.flush();
  const calls = frames.reduce((n, f) => n + ((f.calls as unknown[] | undefined)?.length ?? 0), 0);
  t.equal(calls, 100, "every call went in a batch frame");
  t.same(singles, [], "none as a single message");
  const withCalls = frames.filter((f) => (f.calls as unknown[] | undefined)?.length);
  t.ok(withCalls.length < 50, `the 100 calls took ${withCalls.length} frames`);
  t.ok(
    frames.some((f) => ((f.cancels as unknown[] | undefined)?.length ?? 0) >= 1),
    "cancellations went in frames too",
  );
  const replies = back.reduce((n, f) => n + ((f.replies as unknown[] | undefined)?.length ?? 0), 0);
  t.ok(replies >= 100 + 245, `replies (100 answers and 245 progress values) came back in ${back.length} frames: ${replies} items`);
});

t.test('a node leaving on purpose under load: calls that race its goodbye are answered "not taken" and go to b; none fails', async (t) => {
  const d = await startTestDaemon({ work: echoManifest("work") }, clusterConfig("d", nats.url));
  t.teardown(() => d.stop().catch(() => undefined));
  await waitServed(a, "d", "work");
  const notTaken = await record("bkg.v1.batch.a");
  const codes: number[] = [];
  let running = true;
  const worker = async () => {
    while (running) {
      codes.push(
        await a.client.call("work.sleep", { ms: 20 }, { timeoutMs: 20_000 }).then(
          () => 0,
          (e: BkgError) => e.code,
        ),
      );
    }
  };
  const workers = Array.from({ length: 16 }, worker);
  await d.waitInFlight("work");
  await d.stop();
  const stoppedAt = codes.length;
  await a.waitFor(() => codes.length > stoppedAt + 50, "calls to go on after d stopped");
  running = false;
  await Promise.all(workers);
  t.same(
    codes.filter((c) => c !== 0),
    [],
    `none of ${codes.length} calls failed`,
  );
  const fromD = notTaken.filter((f) => f.node === "d").flatMap((f) => (f.replies as { t: string }[] | undefined) ?? []);
  t.ok(fromD.length > 0, `d answered calls in batch frames (${fromD.length} replies, ${fromD.filter((r) => r.t === "n").length} of them "not taken" in this run)`);
  await a.waitFor(async () => !(await a.client.cluster.bus()).nodes.some((n) => n.node === "d"), "a to drop d");
});

t.test("a node without batch frames (cluster.batch false) is sent single messages, and answers with them", async (t) => {
  const batchToC = await record("bkg.v1.batch.c");
  const singles = await record("bkg.v1.call.c");
  await mixedLoad(t, a, c, "old");
  await spy.flush();
  t.same(batchToC, [], "no batch frame was sent to c");
  t.equal(singles.length, 100, "100 single call messages");
  // c calls a: single messages both ways (a answers the way the call came).
  const toA = await record("bkg.v1.call.a");
  const batchToA = await record("bkg.v1.batch.a");
  await mixedLoad(t, c, a, "here");
  await spy.flush();
  t.equal(toA.length, 100, "c sent a 100 single call messages");
  t.same(
    batchToA.filter((f) => f.node === "c"),
    [],
    "and no batch frame",
  );
});

t.test("bad input: batch frames that are not bkg's are ignored; a bad call item gets its own error", async (t) => {
  const toX = await record("bkg.v1.batch.x");
  spy.publish("bkg.v1.batch.b", "not json at all");
  spy.publish("bkg.v1.batch.b", JSON.stringify({ v: 1, node: "x" }));
  spy.publish("bkg.v1.batch.b", JSON.stringify({ v: 1, node: "x", run: "r1", to: "?", calls: "many" }));
  await b.logLine("that is not bkg's", "a warning about a foreign batch frame");
  const frame = {
    v: 1,
    node: "x",
    run: "r1",
    to: "anything",
    calls: [
      { id: 1, target: "work.reverse", params: { text: "ab" }, budgetMs: 5000, caller: "spy", stream: false },
      { id: 2, target: "work.reverse", params: "not an object", budgetMs: 5000, caller: "spy", stream: false },
      { id: 3, target: "work.stream", params: { n: 2 }, budgetMs: 5000, caller: "spy", stream: true },
      { nonsense: true },
    ],
    cancels: ["not an id"],
  };
  spy.publish("bkg.v1.batch.b", JSON.stringify(frame));
  await b.waitFor(() => toX.flatMap((f) => (f.replies as { t: string }[]) ?? []).filter((r) => r.t !== "p").length >= 3, "b's replies to x");
  t.ok(
    toX.every((f) => f.node === "b" && f.to === "r1"),
    "replies go to the caller's run",
  );
  const replies = toX.flatMap((f) => f.replies as Record<string, unknown>[]);
  t.same(
    replies.filter((r) => r.id === 1),
    [{ id: 1, t: "r", v: "ba" }],
  );
  t.match(
    replies.filter((r) => r.id === 2),
    [{ id: 2, t: "e", code: -32600, message: /not a bkg call: params is not an object/ }],
  );
  t.same(
    replies.filter((r) => r.id === 3),
    [
      { id: 3, t: "p", v: { i: 0 } },
      { id: 3, t: "p", v: { i: 1 } },
      { id: 3, t: "r", v: { count: 2 } },
    ],
  );
  // A frame in another protocol major: each call is refused with the reason.
  spy.publish("bkg.v1.batch.b", JSON.stringify({ ...frame, v: 9, calls: [{ ...frame.calls[0], id: 4 }] }));
  await b.waitFor(() => toX.some((f) => (f.replies as { id: number }[]).some((r) => r.id === 4)), "the refusal of call 4");
  t.match(
    toX.flatMap((f) => f.replies as Record<string, unknown>[]).filter((r) => r.id === 4),
    [{ t: "e", code: -33006, message: /speaks cluster protocol 1; the call from node x used 9/ }],
  );
  // Replies for another run of a are dropped, not taken for a's calls.
  spy.publish("bkg.v1.batch.a", JSON.stringify({ v: 1, node: "b", run: "old", to: "not a's run", replies: [{ id: 1, t: "r", v: "stale" }] }));
  t.equal(await a.client.call("work.reverse", { text: "still" }), "llits", "a still calls b");
});
