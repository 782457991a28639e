/** Membership: announcements, refusals, duplicates, and where a call may go (range, bulkhead, leaving, silence). */
import t from "tap";
import { Membership } from "../../../src/cluster/membership.js";
import { foreignReason, type Announce } from "../../../src/cluster/wire.js";

const announce = (node: string, run: string, plugins: [string, string, boolean][], v = 1): Announce => ({
  v,
  node,
  run,
  version: "0.1.0",
  hostname: "h",
  pid: 1,
  plugins: plugins.map(([name, version, ready]) => ({ name, version, ready, state: ready ? "ready" : "starting", callTimeoutMs: 1000 })),
});

t.test("announcements: joined, updated, restarted, duplicate of our id, refused protocol", async (t) => {
  const m = new Membership({ node: "a", run: "r1" }, 2);
  t.equal(m.announce(announce("b", "x", [["echo", "1.0.0", true]])), "joined");
  t.equal(m.announce(announce("b", "x", [["echo", "1.0.0", true]])), "updated");
  t.equal(m.announce(announce("b", "y", [["echo", "1.0.0", true]])), "restarted");
  t.equal(m.announce(announce("a", "r1", [])), "updated", "our own announcement");
  t.equal(m.announce(announce("a", "other", [])), "duplicate", "another daemon with our id");
  t.equal(m.announce(announce("old", "z", [["echo", "1.0.0", true]], 0)), "refused");
  t.match(m.nodes.get("old")!.refused, /speaks cluster protocol 0/);
  t.same(
    m.candidates("echo").nodes.map((n) => n.node),
    ["b"],
    "a refused node is never a candidate",
  );
  t.match(m.versionsOf("echo"), ["1.0.0 on b", "1.0.0 on old (refused: other protocol)"]);
});

t.test("candidates: ready, in range, not leaving, heard from, with room", async (t) => {
  const m = new Membership({ node: "a", run: "r" }, 2);
  m.announce(announce("b", "x", [["dual", "1.2.0", true]]), 1000);
  m.announce(announce("c", "x", [["dual", "2.0.0", true]]), 1000);
  m.announce(announce("d", "x", [["dual", "1.0.0", false]]), 1000);
  t.same(
    m.candidates("dual", "^1.0.0").nodes.map((n) => n.node),
    ["b"],
    "d is not ready; c is 2.x",
  );
  t.same(
    m.candidates("dual", "^2.0.0").nodes.map((n) => n.node),
    ["c"],
  );
  t.same(
    m
      .candidates("dual")
      .nodes.map((n) => n.node)
      .sort(),
    ["b", "c"],
  );
  t.same(
    m.candidates("dual", undefined, new Set(["b"])).nodes.map((n) => n.node),
    ["c"],
    "excluded",
  );
  t.same(m.candidates("dual", undefined, undefined, 2000).nodes, [], "silent since before 2000");
  m.nodes.get("b")!.inflight = 2;
  t.same(m.candidates("dual", "^1.0.0"), { nodes: [], full: 1 }, "b is at its limit");
  m.nodes.get("c")!.leaving = true;
  t.same(m.candidates("dual", "^2.0.0").nodes, [], "c is leaving");
  t.equal(m.anyServing("dual", "^1.0.0")?.node, "b");
});

t.test("pick: the fewest in flight, ties take turns", async (t) => {
  const m = new Membership({ node: "a", run: "r" }, 10);
  m.announce(announce("b", "x", [["p", "1.0.0", true]]));
  m.announce(announce("c", "x", [["p", "1.0.0", true]]));
  const nodes = m.candidates("p").nodes;
  const picks = [m.pick(nodes)!.node, m.pick(nodes)!.node];
  t.same(picks.sort(), ["b", "c"], "turns");
  m.nodes.get("b")!.inflight = 3;
  t.equal(m.pick(m.candidates("p").nodes)!.node, "c");
});

t.test("log lines are wanted only while some node's client reads them", async (t) => {
  const m = new Membership({ node: "a", run: "r" }, 10);
  m.announce(announce("b", "x", []));
  t.equal(m.wantsLogs(), false);
  m.announce({ ...announce("b", "x", []), logs: true });
  t.equal(m.wantsLogs(), true);
  m.announce({ ...announce("b", "x", []), logs: false });
  t.equal(m.wantsLogs(), false);
});

t.test("foreign messages are told from bkg's", async (t) => {
  t.equal(foreignReason("announce", { v: 1, node: "b", run: "r", version: "1", plugins: [] }), undefined);
  t.equal(foreignReason("announce", { hello: 1 }), "no protocol version (v)");
  t.equal(foreignReason("announce", { v: 1, node: "b", run: "r", version: "1", plugins: [{ name: "x" }] }), "a plugin entry without name, version, ready or callTimeoutMs");
  t.equal(foreignReason("call", { v: 1, node: "b", run: "r", id: 1, target: "x.y", caller: "c", params: [], budgetMs: 1, stream: false }), "params is not an object");
  t.equal(foreignReason("cancel", { v: 1, node: "b", run: "r" }), "no id");
  t.equal(foreignReason("event", { v: 1, node: "b", run: "r", event: {} }), "no event");
});
