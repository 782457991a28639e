import { writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { echoManifest, startTestDaemon } from "../helpers/daemon.js";

t.test("manifests are watched: add, change, delete, invalid", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  const c = d.client;

  t.test("a new file starts the plugin", async (t) => {
    d.writeManifest("second", echoManifest("second"));
    await d.waitState("second", "ready");
    t.equal(await c.call("second.reverse", { text: "ab" }), "ba");
  });

  t.test("a changed file reloads it (new process, new version)", async (t) => {
    const { pid } = (await c.call("second.pid")) as { pid: number };
    d.writeManifest("second", echoManifest("second", { version: "1.1.0" }));
    await d.waitFor(async () => (await c.plugins.info("second")).version === "1.1.0" && (await c.plugins.info("second")).state === "ready", "version 1.1.0 to serve");
    const { pid: pid2 } = (await c.call("second.pid")) as { pid: number };
    t.not(pid2, pid, "a new instance serves");
    t.ok(
      d.events.some((e) => e.kind === "lifecycle" && e.plugin === "second" && e.state === "swapped"),
      "a swapped event was published",
    );
  });

  t.test("an invalid file shows as invalid with file, pointer and message; nothing else stops", async (t) => {
    const file = d.writeManifest("broken", { name: "broken", version: "not-semver", command: [] });
    await d.waitState("broken", "invalid");
    const entry = (await c.plugins.list()).find((p) => p.name === "broken")!;
    t.equal(entry.problems![0].file, file);
    const pointers = entry.problems!.map((p) => p.path).sort();
    t.same(pointers, ["/command", "/version"]);
    t.match(entry.problems!.find((p) => p.path === "/version")!.message, /semver/);
    writeFileSync(join(d.manifestsDir, "garbled.json"), "{ this is not json");
    await d.waitState("garbled", "invalid");
    t.match((await c.plugins.list()).find((p) => p.name === "garbled")!.reason, /not valid JSON/);
    const names = (await c.plugins.list()).map((p) => p.name);
    t.same(names, [...names].sort(), `the list is in name order, invalid entries included: ${names.join(", ")}`);
    t.ok(names.includes("broken") && names.includes("echo"));
    t.equal(await c.call("echo.reverse", { text: "still" }), "llits", "other plugins keep serving");
    t.match(d.output(), /invalid manifest broken\.json: \/version must be a valid semver/, "the problem is in the logs");
    const cli = await d.cli(["plugins", "list"]);
    t.match(cli.stdout, /broken\s+invalid/);
    t.match(cli.stdout, /\/version must be a valid semver/);
  });

  t.test("a running plugin whose manifest turns invalid keeps serving its last valid version", async (t) => {
    writeFileSync(join(d.manifestsDir, "second.json"), JSON.stringify({ ...echoManifest("second"), instances: "many" }));
    await d.waitFor(async () => Boolean((await c.plugins.list()).find((p) => p.name === "second")?.problems), "the problem to show");
    const entry = (await c.plugins.list()).find((p) => p.name === "second")!;
    t.equal(entry.state, "ready");
    t.match(entry.problems![0], { path: "/instances", message: /integer/ });
    t.equal(await c.call("second.reverse", { text: "xy" }), "yx");
  });

  t.test("fixing an invalid file starts the plugin", async (t) => {
    d.writeManifest("broken", echoManifest("broken"));
    await d.waitState("broken", "ready");
    t.equal(await c.call("broken.reverse", { text: "ok" }), "ko");
  });

  t.test("a deleted file stops the plugin and removes it", async (t) => {
    const { pid } = (await c.call("second.pid")) as { pid: number };
    d.removeManifest("second");
    await d.waitFor(async () => !(await c.plugins.list()).some((p) => p.name === "second"), "second to disappear");
    t.throws(() => process.kill(pid, 0), "its process is gone");
    const e = await c.call("second.reverse", { text: "x" }).catch((e) => e);
    t.equal(e.code, -32601);
  });

  t.test("a file whose name differs from the plugin name is invalid", async (t) => {
    d.writeManifest("alias", echoManifest("other"));
    await d.waitState("alias", "invalid");
    t.match((await c.plugins.list()).find((p) => p.name === "other" || p.name === "alias")!.reason, /must match the file name/);
  });
});

t.test("requires: start order and blocking", async (t) => {
  const d = await startTestDaemon({
    base: echoManifest("base"),
    app: echoManifest("app", { requires: { base: "^1.0.0" } }),
    needsnew: echoManifest("needsnew", { requires: { base: ">=2" } }),
    orphan: echoManifest("orphan", { requires: { ghost: "*" } }),
  });
  t.teardown(() => d.stop());
  await d.waitState("app", "ready");
  await d.waitState("needsnew", "blocked");
  await d.waitState("orphan", "blocked");
  const list = await d.client.plugins.list();
  t.match(list.find((p) => p.name === "needsnew")!.reason, /requires base >=2, but base is 1\.0\.0/);
  t.match(list.find((p) => p.name === "orphan")!.reason, /requires plugin "ghost"/);
  // The daemon's log has every transition from its start, in order (the test's event subscription
  // may begin after both plugins started, so it cannot tell).
  const out = d.output();
  const lifecycle = out
    .slice(0, out.lastIndexOf("\n"))
    .split("\n")
    .filter((l) => l.startsWith("{") && l.includes('"state"'))
    .map((l) => JSON.parse(l) as { plugin?: string; state?: string; instance?: string });
  const baseReady = lifecycle.findIndex((e) => e.plugin === "base" && e.state === "ready" && !e.instance);
  const appStarting = lifecycle.findIndex((e) => e.plugin === "app" && e.state === "starting");
  t.ok(baseReady >= 0, "base's ready is in the daemon's log");
  t.ok(appStarting > baseReady, `app started after base was ready (lines ${appStarting} > ${baseReady})`);
  const e = await d.client.call("orphan.reverse", { text: "x" }).catch((e) => e);
  t.equal(e.code, -33000);
  t.match(e.message, /orphan is blocked: requires plugin "ghost"/);

  d.writeManifest("ghost", echoManifest("ghost"));
  await d.waitState("orphan", "ready", 15_000);
  t.pass("adding the missing requirement unblocks the plugin");
});
