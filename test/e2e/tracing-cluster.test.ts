/**
 * Issue 18 item 1 across nodes: a plugin on node a calls a plugin that runs only on node c. Node
 * a records the forwarded call's span, and node c's span for serving it is that span's child:
 * one trace, each node's buffer holding the spans it recorded.
 */
import t from "tap";
import { echoManifest, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { startNats, type TestNats } from "../helpers/nats.js";

// A nats-server and two daemons: on a loaded 2-core machine that alone can take a minute.
t.setTimeout(300_000);
const TRACE = "5a1b2c3d4e5f60718293a4b5c6d7e8f9";
const PARENT = "0123456789abcdef";

let nats: TestNats;
const nodes: TestDaemon[] = [];
t.before(async () => {
  nats = await startNats();
});
t.teardown(async () => {
  for (const d of nodes.splice(0)) await d.stop().catch(() => undefined);
  await nats?.stop();
});

const clusterConfig = (nodeId: string) => ({ storage: { nodeId }, cluster: { nats: { servers: [nats.url] }, heartbeatMs: 250 } });

t.test("a cross-node call joins the caller's trace", async (t) => {
  const a = await startTestDaemon({ ra: echoManifest("ra", { permissions: ["onlyc.*"] }) }, clusterConfig("a"));
  nodes.push(a);
  const c = await startTestDaemon({ onlyc: echoManifest("onlyc") }, clusterConfig("c"));
  nodes.push(c);
  await a.waitFor(async () => (await a.client.cluster.plugins()).some((p) => p.node === "c" && p.name === "onlyc" && p.ready), "onlyc on node c to be seen from a");

  const out = await a.client.call("ra.relay", { method: "onlyc.reverse", params: { text: "abc" } }, { traceparent: `00-${TRACE}-${PARENT}-01` });
  t.equal(out, "cba");

  const onA = (await a.client.traces.get(TRACE)).spans;
  t.same(
    onA.map((s) => [s.name, s.node]),
    [
      ["ra.relay", "a"],
      ["onlyc.reverse", "a"],
    ],
    "node a: the relay and the call it forwarded",
  );
  t.equal(onA[0].parentSpanId, PARENT);
  t.equal(onA[1].parentSpanId, onA[0].spanId);
  t.equal(onA[1].instance, undefined, "forwarded: no local instance served it");

  const onC = (await c.client.traces.get(TRACE)).spans;
  t.equal(onC.length, 1);
  t.match(onC[0], { name: "onlyc.reverse", node: "c", parentSpanId: onA[1].spanId, outcome: "ok", instance: /^onlyc#\d+@\d+$/ });
  t.match(onC[0].caller, /plugin:ra/, "c sees who called on a");
});
