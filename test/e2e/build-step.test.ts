/**
 * The manifest `build` step with a tiny build command (test/fixtures/build-step/build.mjs, a
 * stand-in compiler that writes out/plugin.mjs from src/greeting.txt): it runs once, is skipped
 * when nothing changed, reruns after a source change, a broken source keeps the old version
 * serving, a hanging build is killed with its process group, and builds take turns.
 * The real cargo build is exercised by test/plugins/candle.test.ts.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import t from "tap";
import type { PluginInfo } from "../../src/supervisor/index.js";
import { ROOT, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

t.setTimeout(10 * 60_000); // several daemons and builds, on a busy machine
const BUILD = join(ROOT, "test/fixtures/build-step/build.mjs");
const SDK = pathToFileURL(join(ROOT, "plugin-sdk/typescript/dist/index.js")).href;

/** A plugin folder whose source is `greeting`, and its manifest (build + watch). */
function greeter(d: TestDaemon, name: string, greeting: string, build: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const dir = join(d.dir, name);
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(dir, "src/greeting.txt"), greeting);
  const manifest = {
    name,
    version: "1.0.0",
    command: ["node", "out/plugin.mjs"],
    cwd: dir,
    provides: ["greet"],
    build: { command: ["node", BUILD, SDK], inputs: ["src/**"], outputs: ["out/plugin.mjs"], timeoutMs: 60_000, ...build },
    ...extra,
  };
  return { dir, manifest, builds: () => (existsSync(join(dir, "builds.log")) ? readFileSync(join(dir, "builds.log"), "utf8").trim().split("\n") : []) };
}

/** Running (a zombie waiting for a parent that was killed too counts as gone). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

const states = (d: TestDaemon, name: string) => d.events.filter((e) => e.kind === "lifecycle" && e.plugin === name && e.instance === undefined).map((e) => (e as { state: string }).state);

t.test("the build runs once, is skipped when nothing changed, reruns after a change; a broken source keeps the old version serving", async (t) => {
  const d = await startTestDaemon({});
  t.teardown(() => d.stop());
  const g = greeter(d, "greeter", "hello", {}, { watch: ["src/**"] });
  d.writeManifest("greeter", g.manifest);
  await d.waitState("greeter", "ready", 30_000);
  t.equal(await d.client.call("greeter.greet", {}), "hello", "the built plugin answers");
  t.equal(g.builds().length, 1, "built once");
  t.ok(states(d, "greeter").indexOf("building") < states(d, "greeter").indexOf("starting"), "building before starting");
  const first = (await d.client.plugins.info("greeter")) as PluginInfo;
  t.match(first.build, { state: "succeeded", reason: "no successful build recorded", progress: /^built in/ });
  t.ok(d.output().includes("Compiling greeting v0.1.0"), "the build's output is in the plugin's log");
  const logs = await d.client.plugins.logs("greeter", 500);
  t.ok(
    logs.some((e) => e.kind === "log" && e.msg.includes("Compiling greeting")),
    "bkg plugins logs shows the build's output",
  );

  // Unchanged: a restart does not build again.
  await d.client.plugins.stop("greeter");
  await d.client.plugins.start("greeter");
  await d.waitState("greeter", "ready", 30_000);
  t.equal(g.builds().length, 1, "no second build for unchanged inputs");
  t.match((await d.client.plugins.info("greeter")).build, { state: "skipped" });

  // A saved change: rebuilt and hot-swapped.
  writeFileSync(join(g.dir, "src/greeting.txt"), "howdy");
  await d.waitFor(async () => (await d.client.call("greeter.greet", {})) === "howdy", "the rebuilt version to answer", 30_000);
  t.equal(g.builds().length, 2, "rebuilt once after the change");

  // A broken save: the build fails, the old version keeps answering.
  writeFileSync(join(g.dir, "src/greeting.txt"), "howdy\nSYNTAX ERROR\n");
  await d.waitFor(async () => (await d.client.plugins.info("greeter")).build?.state === "failed", "the broken build to fail", 30_000);
  await d.waitState("greeter", "ready");
  t.equal(await d.client.call("greeter.greet", {}), "howdy", "the previous version still serves");
  const info = (await d.client.plugins.info("greeter")) as PluginInfo;
  t.match(info.reason, /build failed, still serving the previous version: build failed: .* exited with code 1/);
  t.equal(info.build?.tail?.length, 50, "the last 50 lines of the build's output");
  t.match(info.build?.tail?.at(-1), /src\/greeting\.txt:2:1/, "ending with the compiler's error");
  const cli = await d.cli(["plugins", "info", "greeter"]);
  t.match(cli.stdout, /build +build failed after \d+ s/);
  t.match(cli.stdout, /last 50 lines of the build's output:\n(.|\n)*\| error: expected a greeting/);

  // Fixed: the next save builds and swaps again.
  writeFileSync(join(g.dir, "src/greeting.txt"), "hi again");
  await d.waitFor(async () => (await d.client.call("greeter.greet", {})) === "hi again", "the fixed version to answer", 30_000);
  t.equal(g.builds().length, 3, "three successful builds in all");
  t.notOk(d.output().includes('"bug":true'), "no bug logged");
});

t.test("a broken source at the first start: build-failed, calls refused with the reason, a fix starts it", async (t) => {
  const d = await startTestDaemon({});
  t.teardown(() => d.stop());
  const g = greeter(d, "broken", "SYNTAX ERROR", {}, { watch: ["src/**"] });
  d.writeManifest("broken", g.manifest);
  await d.waitState("broken", "build-failed", 30_000);
  const err = await d.client.call("broken.greet", {}).then(
    () => undefined,
    (e: { code: number; message: string }) => e,
  );
  t.match(err, { code: -33000, message: /plugin broken is build-failed: build failed: .*exited with code 1: --> src\/greeting\.txt:1:1 \(bkg plugins start broken to retry\)/ });
  const list = await d.cli(["plugins", "list"]);
  t.match(list.stdout, /broken +build-failed .*build failed after/);
  writeFileSync(join(g.dir, "src/greeting.txt"), "fixed");
  await d.waitState("broken", "ready", 30_000);
  t.equal(await d.client.call("broken.greet", {}), "fixed");
});

t.test("a build that hangs is killed with its process group at its timeout", async (t) => {
  const d = await startTestDaemon({});
  t.teardown(() => d.stop());
  // The timeout must leave the build's Node time to start, write its pid and print (over 1.5 s
  // once under CI's load, when the build was killed before it had printed anything).
  const g = greeter(d, "hangs", "HANG", { timeoutMs: 6000 });
  d.writeManifest("hangs", g.manifest);
  await d.waitState("hangs", "building", 30_000);
  await d.waitState("hangs", "build-failed", 30_000);
  const info = (await d.client.plugins.info("hangs")) as PluginInfo;
  t.match(
    info.reason,
    /build timed out after 6000 ms and was killed with its process group .*raise build\.timeoutMs if it is only slow; its last output: Blocking waiting for file lock on build directory/,
  );
  const child = Number(readFileSync(join(g.dir, "hang.pid"), "utf8"));
  await d.waitFor(() => !running(child), "the build's child process to be gone", 5_000);
  t.notOk(running(child), "the build's child was killed too");
});

t.test("builds of different plugins take turns (builds.concurrency 1)", async (t) => {
  const d = await startTestDaemon({});
  t.teardown(() => d.stop());
  const slow = { env: { FIXTURE_BUILD_MS: "600" } };
  const a = greeter(d, "first", "one", slow);
  const b = greeter(d, "second", "two", slow);
  d.writeManifest("first", a.manifest);
  d.writeManifest("second", b.manifest);
  await d.waitState("first", "ready", 30_000);
  await d.waitState("second", "ready", 30_000);
  const [s1, e1] = a.builds()[0].split(" ").map(Number);
  const [s2, e2] = b.builds()[0].split(" ").map(Number);
  t.ok(e1 <= s2 || e2 <= s1, `the two builds did not overlap (${s1}-${e1}, ${s2}-${e2})`);
  const waited = d.events.some((e) => e.kind === "log" && /waiting|build:/.test(e.msg));
  t.ok(waited, "the builds were logged");
});

t.test("builds.concurrency 2 lets two builds run at once", async (t) => {
  const d = await startTestDaemon({}, { builds: { concurrency: 2 } });
  t.teardown(() => d.stop());
  const slow = { env: { FIXTURE_BUILD_MS: "3000" } };
  const a = greeter(d, "first", "one", slow);
  const b = greeter(d, "second", "two", slow);
  d.writeManifest("first", a.manifest);
  d.writeManifest("second", b.manifest);
  await d.waitState("first", "ready", 30_000);
  await d.waitState("second", "ready", 30_000);
  const [s1, e1] = a.builds()[0].split(" ").map(Number);
  const [s2, e2] = b.builds()[0].split(" ").map(Number);
  t.ok(s1 < e2 && s2 < e1, `the two builds overlapped (${s1}-${e1}, ${s2}-${e2})`);
});

t.test("a bad build step in a manifest is refused naming the field", async (t) => {
  const d = await startTestDaemon({});
  t.teardown(() => d.stop());
  const g = greeter(d, "badbuild", "x", { command: [], timeoutMs: 5 });
  d.writeManifest("badbuild", g.manifest);
  await d.waitState("badbuild", "invalid");
  const info = (await d.client.plugins.list()).find((p) => p.name === "badbuild");
  t.match(JSON.stringify(info?.problems), /\/build\/command/, "an empty command is named");
  t.match(JSON.stringify(info?.problems), /\/build\/timeoutMs/, "a timeout below 1000 ms is named");
});

t.test("a cargo build waiting on a lock another build holds is killed at its timeout, saying so", async (t) => {
  const d = await startTestDaemon({});
  t.teardown(() => d.stop());
  const dir = join(d.dir, "tiny");
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(dir, "Cargo.toml"), '[package]\nname = "tiny"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n');
  writeFileSync(join(dir, "src/main.rs"), "fn main() {}\n");
  mkdirSync(join(dir, "target/release"), { recursive: true });
  // Another build holds cargo's lock on the artifact folder (as a concurrent `cargo build` would).
  const holder = spawn("flock", [join(dir, "target/release/.cargo-lock"), "sleep", "120"], { stdio: "ignore" });
  t.teardown(() => void holder.kill("SIGKILL"));
  await new Promise((r) => setTimeout(r, 300));
  d.writeManifest("tiny", {
    name: "tiny",
    version: "0.1.0",
    command: ["target/release/tiny"],
    cwd: dir,
    build: { command: ["cargo", "build", "--release"], inputs: ["src/**/*.rs", "Cargo.toml"], outputs: ["target/release/tiny"], timeoutMs: 4000, env: { CARGO_TERM_COLOR: "never" } },
  });
  await d.waitState("tiny", "build-failed", 30_000);
  const info = await d.client.plugins.info("tiny");
  t.match(info.reason, /build timed out after 4000 ms .*its last output: Blocking waiting for file lock on (artifact|build) directory/);
});
