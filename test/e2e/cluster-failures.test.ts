/**
 * Cluster mode under failure and bad input: NATS going away and coming back, a daemon that
 * starts while NATS is down, a second daemon with a taken node id, messages on the bus that are
 * not bkg's (and floods of them), a node with another protocol version, a hung node behind the
 * per-node bulkhead, and one plugin name at two major versions with `requires` choosing.
 */
import { connect as natsConnect, type NatsConnection } from "@nats-io/transport-node";
import t from "tap";
import type { BkgError } from "@bkg/protocol";
import { echoManifest, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { startNats, type TestNats } from "../helpers/nats.js";

// Three daemons and a nats-server start in this file: on a loaded 2-core machine that alone can take a minute.
t.setTimeout(300_000);
let nats: TestNats;
let raw: NatsConnection;
let a: TestDaemon;
let b: TestDaemon;
const extra: TestDaemon[] = [];

const clusterConfig = (nodeId: string, url: string, cluster: Record<string, unknown> = {}) => ({
  storage: { nodeId },
  cluster: { nats: { servers: [url] }, heartbeatMs: 250, ...cluster },
});

async function waitServed(on: TestDaemon, node: string, plugin: string): Promise<void> {
  await on.waitFor(async () => (await on.client.cluster.plugins()).some((p) => p.node === node && p.name === plugin && p.ready), `${plugin} on node ${node} to be seen as ready`);
}

const enc = (v: unknown) => JSON.stringify(v);

t.before(async () => {
  nats = await startNats();
  a = await startTestDaemon(
    {
      here: echoManifest("here"),
      needs1: echoManifest("needs1", { requires: { dual: "^1.0.0" }, permissions: ["dual.*"] }),
      needs3: echoManifest("needs3", { requires: { dual: "^3.0.0" }, permissions: ["dual.*"] }),
    },
    clusterConfig("a", nats.url, { maxInflightPerNode: 2 }),
  );
  b = await startTestDaemon({ there: echoManifest("there"), work: echoManifest("work"), dual: echoManifest("dual") }, clusterConfig("b", nats.url));
  raw = await natsConnect({ servers: nats.url });
  await waitServed(a, "b", "there");
});
t.teardown(async () => {
  await raw?.close().catch(() => undefined);
  for (const d of [a, b, ...extra]) await d?.stop().catch(() => undefined);
  await nats?.stop();
});

t.test("one plugin name at two major versions: a plugin's requires range picks the node", async (t) => {
  const c = await startTestDaemon({ dual: echoManifest("dual", { version: "2.0.0" }) }, clusterConfig("c", nats.url));
  extra.push(c);
  await waitServed(a, "c", "dual");
  await waitServed(a, "b", "dual");
  await a.waitState("needs1", "ready");
  const onB = (await b.client.call("dual.pid", {})) as { pid: number };
  for (let i = 0; i < 10; i++) t.same(await a.client.call("needs1.relay", { method: "dual.pid" }), onB, `call ${i} went to b's dual 1.0.0`);
  const e = (await a.client.call("needs3.relay", { method: "dual.pid" }).catch((x) => x)) as BkgError;
  t.equal(e.code, -33000);
  t.match(e.message, /no node can serve dual at a version in \^3\.0\.0 now; it is on: .*1\.0\.0 on b/);
  t.match(e.message, /2\.0\.0 on c/);
});

t.test("a hung node does not stall the others: the per-node bulkhead sends the rest elsewhere", async (t) => {
  // A fake node that announces "work", answers pings, and never answers a call.
  const announce = () =>
    raw.publish(
      "bkg.v1.announce",
      enc({ v: 1, node: "hung", run: "r1", version: "0.1.0", hostname: "x", pid: 1, plugins: [{ name: "work", version: "1.0.0", ready: true, state: "ready", callTimeoutMs: 30000 }] }),
    );
  const beat = setInterval(announce, 100);
  t.teardown(() => clearInterval(beat));
  const ping = raw.subscribe("bkg.v1.ping.hung", { callback: (_e, m) => m.respond(enc({ v: 1, node: "hung", run: "r1" })) });
  let swallowed = 0;
  const sink = raw.subscribe("bkg.v1.call.hung", { callback: () => swallowed++ });
  t.teardown(() => (ping.unsubscribe(), sink.unsubscribe()));
  announce();
  await waitServed(a, "hung", "work");
  // Long deadlines, so the hung node's slots stay taken however slow the machine is; the calls
  // stuck there are cancelled at the end.
  const ac = new AbortController();
  const calls = Array.from({ length: 20 }, (_, i) =>
    a.client.call("work.reverse", { text: `x${i}` }, { timeoutMs: 120_000, signal: ac.signal }).then(
      () => 0,
      (e: BkgError) => e.code,
    ),
  );
  let answered = 0;
  for (const c of calls) void c.then((code) => code === 0 && answered++);
  await a.waitFor(() => answered + swallowed >= 20, "every call answered by b or held by the hung node", 60_000);
  t.ok(swallowed >= 1 && swallowed <= 2, `the hung node got at most maxInflightPerNode (2) calls (${swallowed})`);
  t.equal(answered, 20 - swallowed, "every other call was answered by b");
  ac.abort();
  const codes = await Promise.all(calls);
  t.same(
    codes.filter((c) => c !== 0),
    Array(swallowed).fill(-32800),
    "the ones held by the hung node end when cancelled",
  );
});

t.test("messages that are not bkg's are ignored with a warning; the daemon keeps serving", async (t) => {
  const reply = await raw.request("bkg.v1.call.a", "hello?", { timeout: 5000 });
  t.match(reply.json(), { t: "e", code: -32600, message: /not a bkg call: not JSON/ });
  raw.publish("bkg.v1.announce", enc({ hello: "world" }));
  raw.publish("bkg.v1.events", "\u0000\u0001");
  raw.publish("bkg.v1.cancel.a", enc([1, 2, 3]));
  await a.logLine("that is not bkg's", "a warning about a foreign message");
  t.equal(await a.client.call("there.reverse", { text: "ok" }), "ko");
});

t.test("a subject flood: thousands of junk messages, one warning line per interval, calls still answered", async (t) => {
  const foreignLines = () =>
    a
      .output()
      .split("\n")
      .filter((l) => l.includes("that is not bkg's")).length;
  const before = foreignLines();
  const t0 = Date.now();
  for (let i = 0; i < 20_000; i++) {
    raw.publish("bkg.v1.call.a", `junk ${i}`);
    raw.publish("bkg.v1.announce", enc({ v: 1, node: `flood${i}`, run: "r" }));
  }
  await raw.flush();
  t.equal(await a.client.call("there.reverse", { text: "still" }), "llits");
  // One warning line per 5 s at most (ThrottledWarn), however long the flood took to arrive.
  await a.waitFor(async () => (await a.client.cluster.bus()).bus.connected, "a still on the bus");
  const lines = foreignLines() - before;
  const allowed = 1 + Math.ceil((Date.now() - t0) / 5000);
  t.ok(lines <= allowed, `40000 junk messages were logged in ${lines} throttled line(s) (at most ${allowed} in ${Date.now() - t0} ms)`);
  t.equal(await b.client.call("here.reverse", { text: "b->a" }), "a>-b", "b still reaches a");
});

t.test("a node with another cluster protocol version is refused with the reason", async (t) => {
  raw.publish(
    "bkg.v1.announce",
    enc({ v: 0, node: "old", run: "r0", version: "0.0.9", hostname: "x", pid: 1, plugins: [{ name: "oldplug", version: "1.0.0", ready: true, state: "ready", callTimeoutMs: 1000 }] }),
  );
  const line = await a.logLine("speaks cluster protocol 0", "the refusal");
  t.match(line.msg, /node old speaks cluster protocol 0 .* no calls are routed to it/);
  const e = (await a.client.call("oldplug.pid", {}).catch((x) => x)) as BkgError;
  t.equal(e.code, -33000);
  t.match(e.message, /1\.0\.0 on old \(refused: other protocol\)/);
  // A call in an older protocol gets -33006 with the reason.
  const m = await raw.request("bkg.v1.call.a", enc({ v: 0, id: 1, node: "old", run: "r0", target: "here.pid", params: {}, budgetMs: 1000, caller: "x", stream: false }), { timeout: 5000 });
  t.match(m.json(), { t: "e", code: -33006, message: /speaks cluster protocol 1; the call from node old used 0/ });
});

t.test("a second daemon with a node id in use refuses to start, saying why", async (t) => {
  const e = (await startTestDaemon({}, clusterConfig("a", nats.url)).catch((x) => x)) as Error;
  t.match(e.message, /node id "a" is already used by a running daemon \(host .*, pid \d+\); give each daemon its own storage.nodeId/);
});

t.test("NATS down: local calls work, remote ones fail -33000 saying why; the daemon reconnects", async (t) => {
  await nats.stop();
  t.equal(await a.client.call("here.reverse", { text: "local" }), "lacol");
  await a.waitFor(async () => (await a.client.cluster.bus()).bus.connected === false, "a to notice NATS is gone");
  const e = (await a.client.call("there.pid", {}).catch((x) => x)) as BkgError;
  t.equal(e.code, -33000);
  t.match(e.message, new RegExp(`no plugin "there" runs on this node \\(a\\), and the cluster bus is not connected \\(NATS at ${nats.url.replace(/[.]/g, "\\.")}\\): `));
  // A daemon started while NATS is down starts anyway and joins once it is back.
  const late = await startTestDaemon({ late: echoManifest("late") }, clusterConfig("late", nats.url));
  extra.push(late);
  const l = (await late.client.call("there.pid", {}).catch((x) => x)) as BkgError;
  t.equal(l.code, -33000);
  t.match(l.message, /cluster bus is not connected .*: .*(refused|ECONNREFUSED)/i);
  await nats.restart();
  await a.waitFor(
    async () =>
      await a.client.call("there.pid", {}).then(
        () => true,
        () => false,
      ),
    "a to reach b again",
    20_000,
  );
  await late.waitFor(
    async () =>
      await late.client.call("there.pid", {}).then(
        () => true,
        () => false,
      ),
    "the late daemon to join",
    20_000,
  );
  t.same(await a.client.call("late.reverse", { text: "ab" }), "ba", "a reaches the late node");
});
