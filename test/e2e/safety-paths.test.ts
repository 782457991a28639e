/**
 * Issue 20, item 9 — safety paths no test walked: an auth plugin that answers too slowly (503,
 * never a pass), `auth.rootToken: false`, the socket's 0600 mode, `enabled: false` manifests,
 * dependents stopped before what they require at shutdown, and the cgroup memory cap where this
 * machine lets the daemon write one. (The data folder's 0700 is test/e2e/data-dir-modes.test.ts.)
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import t from "tap";
import { ErrorCodes } from "@bkg/protocol";
import { locateCgroup2 } from "../../src/supervisor/instance-cgroups.js";
import { echoManifest, ROOT, rogueManifest, startTestDaemon } from "../helpers/daemon.js";
import { api } from "../helpers/http.js";

const SDK = pathToFileURL(join(ROOT, "plugin-sdk/typescript/dist/index.js")).href;

t.test("an auth plugin slower than auth.validateTimeoutMs: 503 (fail closed), never a pass", async (t) => {
  const d = await startTestDaemon({}, { auth: { plugin: "slowauth", validateTimeoutMs: 300 } });
  t.teardown(() => d.stop());
  const dir = join(d.dir, "slowauth");
  mkdirSync(dir);
  // Answers "valid, admin" — but only after a minute: a daemon that waited would let the key in.
  writeFileSync(
    join(dir, "index.mjs"),
    `import { definePlugin } from ${JSON.stringify(SDK)};
definePlugin({ name: "slowauth", version: "1.0.0", methods: {
  "auth.validate": { handler: async () => { await new Promise((r) => setTimeout(r, 60_000)); return { valid: true, principal: { type: "key", id: "key_x", name: "x", role: "admin", scopes: ["*"] }, expiresAt: null }; } },
} }).serve();
`,
  );
  d.writeManifest("slowauth", { name: "slowauth", version: "1.0.0", command: ["node", "index.mjs"], cwd: dir, provides: ["auth.validate"] });
  await d.waitState("slowauth", "ready");
  const r = await api(d.httpUrl!, `bkg_live_${"a".repeat(43)}`)("GET", "/api/plugins");
  t.equal(r.status, 503, r.text);
  t.match(r.json.error, { code: ErrorCodes.PluginUnavailable, details: { reason: "auth_unavailable", plugin: "slowauth", cause: ErrorCodes.DeadlineExceeded } });
  t.equal((await api(d.httpUrl!, d.rootToken())("GET", "/api/plugins")).status, 200, "the root token does not need the plugin");
});

t.test("auth.rootToken: false: no root.token file, and a root-shaped token is refused", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() }, { auth: { rootToken: false } });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  t.notOk(existsSync(join(d.dir, "data", "root.token")), "no root token was written");
  const r = await api(d.httpUrl!, `bkg_root_${"a".repeat(43)}`)("GET", "/api/plugins");
  t.equal(r.status, 401);
  t.match(r.json.error, { code: ErrorCodes.Unauthenticated, message: /root tokens are turned off \(auth\.rootToken: false\)/ });
});

t.test("the unix socket is 0600 (only its owner may drive the daemon)", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() }, { http: { enabled: false } });
  t.teardown(() => d.stop());
  const st = statSync(d.socketPath);
  t.ok(st.isSocket(), "a socket");
  t.equal((st.mode & 0o777).toString(8), "600");
});

t.test("enabled: false: the plugin is disabled, spawns nothing, and calls fail at once", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest(), off: echoManifest("off", { enabled: false }) });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  await d.waitState("off", "disabled");
  const info = await d.client.plugins.info("off");
  t.same(info.instances, [], "no process");
  const e = (await d.client.call("off.reverse", { text: "x" }).catch((e) => e)) as { code: number; message: string };
  t.equal(e.code, ErrorCodes.PluginUnavailable);
  t.match(e.message, /off is disabled/);
});

t.test('a three-level requires chain starts (bug: its top stayed blocked, "requires app, which is stopped"), and at shutdown dependents stop before what they require', async (t) => {
  const d = await startTestDaemon({
    base: echoManifest("base"),
    app: echoManifest("app", { requires: { base: "^1.0.0" } }),
    top: echoManifest("top", { requires: { app: "*" } }),
  });
  await d.waitState("top", "ready");
  await d.stop();
  const out = d.output();
  const stopped = out
    .slice(0, out.lastIndexOf("\n"))
    .split("\n")
    .filter((l) => l.startsWith("{") && l.includes('"state":"stopped"'))
    .map((l) => JSON.parse(l) as { plugin: string; instance?: string })
    .filter((e) => !e.instance)
    .map((e) => e.plugin);
  t.same(stopped, ["top", "app", "base"], "top, then app, then base");
});

// Where the daemon can write memory.max (cgroup v2 with the memory controller), the plugin runs
// under it; where it cannot, the daemon must say so and why, and the kernel cap is skipped with
// that reason (the capability is absent, not failing).
t.test("limits.memoryMb under a cgroup v2 memory.max, where the daemon can write one", async (t) => {
  const d = await startTestDaemon({ capped: rogueManifest("capped", "ok", { limits: { memoryMb: 96 } }) });
  t.teardown(() => d.stop());
  await d.waitState("capped", "ready");
  const info = await d.client.plugins.info("capped");
  const memory = String((info as { memory?: unknown }).memory ?? "");
  if (!/by cgroup v2 memory\.max/.test(memory)) {
    t.match(memory, /found by sampling every \d+ ms \(no cgroup cap: .+\)/, "the daemon says the cap is sampled, and why there is no cgroup cap");
    // No kernel cap to inspect on this machine: the assertion above is what holds here.
    t.comment(`kernel cap absent here, sampling asserted instead: ${memory}`);
    return;
  }
  const cg = locateCgroup2()!;
  const pid = info.instances[0].pid as number;
  const group = readFileSync(`/proc/${pid}/cgroup`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("0::"))!
    .slice(3);
  t.match(group, /bkg-/, "the plugin runs in its own cgroup");
  const hardMb = Math.ceil(96 * 1.25);
  t.equal(readFileSync(join(cg.mount, group, "memory.max"), "utf8").trim(), String(hardMb * 1024 * 1024), "memory.max is the hard limit");
});
