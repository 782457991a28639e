/** cluster in the config: absent by default, the file, the environment, and bad values. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { ConfigError, loadConfig } from "../../../src/config/index.js";

const dir = mkdtempSync(join(tmpdir(), "bkg-cfg-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const load = (file: object | undefined, env: Record<string, string> = {}) => {
  const path = join(dir, "bkg.config.json");
  if (file) writeFileSync(path, JSON.stringify(file));
  else rmSync(path, { force: true }); // or the loader finds the last test's file in cwd
  return loadConfig({ file: file ? path : undefined, env, cwd: dir });
};
const problems = (file: object | undefined, env: Record<string, string> = {}) => {
  try {
    load(file, env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
};

t.test("absent: the daemon is on its own", async (t) => {
  t.equal(load(undefined).cluster, undefined);
});

t.test("the file (credentials relative to it), defaults filled in, then the environment", async (t) => {
  const c = load({ cluster: { nats: { servers: ["nats://10.0.0.5:4222"], credentials: "nats.creds" }, routing: "balanced" } });
  t.same(c.cluster, { routing: "balanced", heartbeatMs: 1000, maxInflightPerNode: 256, batch: true, nats: { servers: ["nats://10.0.0.5:4222"], credentials: join(dir, "nats.creds") } });
  const e = load(undefined, { BKG_CLUSTER_NATS_SERVERS: "nats://a:4222, nats://b:4222", BKG_CLUSTER_NATS_TOKEN: "s3cret", BKG_CLUSTER_ROUTING: "local-first" });
  t.same(e.cluster, { routing: "local-first", heartbeatMs: 1000, maxInflightPerNode: 256, batch: true, nats: { servers: ["nats://a:4222", "nats://b:4222"], token: "s3cret" } });
});

t.test("bad values name their path", async (t) => {
  t.match(problems({ cluster: {} }), [{ path: "/cluster", message: /nats/ }]);
  t.match(problems({ cluster: { nats: { servers: [] } } }), [{ path: "/cluster/nats/servers" }]);
  t.match(problems({ cluster: { nats: { servers: ["nats://x"] }, routing: "random" } }), [{ path: "/cluster/routing" }]);
  t.match(problems({ cluster: { nats: { servers: ["nats://x"] }, heartbeatMs: 10 } }), [{ path: "/cluster/heartbeatMs" }]);
  t.match(problems({ cluster: { nats: { servers: ["nats://x"] }, maxInflightPerNode: 0 } }), [{ path: "/cluster/maxInflightPerNode" }]);
  t.match(problems({ cluster: { nats: { servers: ["nats://x"], user: "u" } } }), [{ path: "/cluster/nats" }]);
  t.match(problems(undefined, { BKG_CLUSTER_ROUTING: "balanced" }), [{ path: "/cluster", message: /nats/ }], "routing alone from the environment");
});
