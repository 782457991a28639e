import t from "tap";
import { loadConfig } from "../../../src/config/index.js";
import { checkRequires, parseManifest, startOrder, type Manifest } from "../../../src/registry/index.js";

const config = loadConfig({ cwd: "/srv/bkg", env: {} });
const ok = (name: string, extra: Record<string, unknown> = {}) => {
  const r = parseManifest(`/srv/bkg/manifests/${name}.json`, JSON.stringify({ name, version: "1.2.3", command: ["node", "x.js"], ...extra }), config);
  if (!r.ok) throw new Error(JSON.stringify(r.invalid));
  return r.manifest;
};

t.test("defaults are filled in from the daemon config", async (t) => {
  const m = ok("echo", { timeouts: { call: 5 } });
  t.equal(m.cwd, "/srv/bkg/manifests");
  t.equal(m.timeouts.call, 5);
  t.equal(m.timeouts.start, config.defaults.timeouts.start);
  t.equal(m.instances, 1);
  t.equal(m.activation, "eager");
  t.equal(m.protocol, "^1.0.0");
  t.equal(m.limits.maxMessageBytes, config.limits.maxMessageBytes);
  t.equal(ok("rel", { cwd: "../plugins/rel" }).cwd, "/srv/bkg/plugins/rel");
});

t.test("problems name the JSON pointer", async (t) => {
  const r = parseManifest("/m/bad.json", JSON.stringify({ name: "bad", version: "1", command: "node x", instances: 0, permissions: ["not a pattern"], requires: { x: "not a range!" } }), config);
  t.notOk(r.ok);
  if (r.ok) return;
  const byPath = Object.fromEntries(r.invalid.problems.map((p) => [p.path, p.message]));
  t.match(byPath["/version"], /semver/);
  t.match(byPath["/command"], /array/);
  t.match(byPath["/instances"], />= 1/);
  t.ok(byPath["/permissions/0"]);
  t.match(byPath["/requires/x"], /semver-range/);
  t.equal(r.invalid.name, "bad");
});

t.test("not JSON, and a name that does not match the file", async (t) => {
  const r = parseManifest("/m/x.json", "{", config);
  t.match(r, { ok: false, invalid: { problems: [{ path: "", message: /not valid JSON/ }] } });
  const r2 = parseManifest("/m/x.json", JSON.stringify({ name: "y", version: "1.0.0", command: ["a"] }), config);
  t.match(r2, { ok: false, invalid: { problems: [{ path: "/name", message: /must match the file name/ }] } });
});

t.test("requires: semver ranges, missing plugins, cycles and start order", async (t) => {
  const all = new Map<string, Manifest>([
    ["a", ok("a")],
    ["b", ok("b", { requires: { a: "^1.0.0" } })],
    ["c", ok("c", { requires: { b: "*", a: "~1.2" } })],
    ["d", ok("d", { requires: { a: ">=2" } })],
    ["e", ok("e", { requires: { nope: "*" } })],
    ["f", ok("f", { requires: { g: "*" } })],
    ["g", ok("g", { requires: { f: "*" } })],
  ]);
  t.same(checkRequires(all.get("c")!, all), { ok: true });
  t.match(checkRequires(all.get("d")!, all), { ok: false, reason: /requires a >=2, but a is 1\.2\.3/ });
  t.match(checkRequires(all.get("e")!, all), { ok: false, reason: /"nope".*no valid manifest/ });
  t.match(checkRequires(all.get("f")!, all), { ok: false, reason: /dependency cycle: f -> g -> f/ });
  const order = startOrder(all);
  t.ok(order.indexOf("a") < order.indexOf("b") && order.indexOf("b") < order.indexOf("c"), order.join(","));
  t.equal(order.length, all.size);
});

t.test("a JSON syntax error names its line and column (issue 11)", async (t) => {
  const text = '{\n  "name": "x",\n  "version": "1.0.0",\n  "command": ["node" "index.mjs"]\n}\n';
  const r = parseManifest("/m/x.json", text, config);
  t.match(r, { ok: false, invalid: { problems: [{ path: "", message: /not valid JSON: .*\(line 4 column 22\)/ }] } });
  const cut = parseManifest("/m/x.json", '{\n  "name": "x",\n', config);
  t.match(cut, { ok: false, invalid: { problems: [{ message: /\(line 3 column 1\)/ }] } }, "a file that ends too soon points at its end");
});
