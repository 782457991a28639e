/**
 * `bkg plugin new --lang rust`, generated outside the checkout and used with no edits: its
 * `cargo test` passes, and its plugin, started with its manifest's command (`cargo run`),
 * passes the conformance suite's protocol-only mode. Builds share the Rust SDK's target folder
 * (and the scaffold copies the SDK's Cargo.lock), so the dependencies are compiled once.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { runConformance } from "@bkg/conformance";
import { ROOT } from "../helpers/daemon.js";
import { bkg, CARGO_TARGET_DIR, plainEnv, run, scratch } from "../sdk/helpers/scaffold-env.js";

const { dir, config } = scratch("bkg-scaffold-rs-");
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test("Rust, with --dir: cargo test, then the manifest's cargo run passes the protocol cases", { timeout: 600_000 }, async (t) => {
  const pluginDir = join(dir, "hello-rs");
  const r = await bkg(config, ["plugin", "new", "hello_rs", "--lang", "rust", "--dir", pluginDir]);
  t.equal(r.code, 0, r.code === 0 ? "bkg plugin new: exit 0" : r.out);
  for (const f of ["Cargo.toml", "Cargo.lock", "src/main.rs", "tests/plugin.rs", "README.md", ".gitignore", "bkg.plugin.json"]) t.ok(existsSync(join(pluginDir, f)), f);
  t.match(readFileSync(join(pluginDir, "Cargo.toml"), "utf8"), `bkg-plugin = { path = ${JSON.stringify(join(ROOT, "plugin-sdk/rust"))} }`);
  const m = JSON.parse(readFileSync(join(pluginDir, "bkg.plugin.json"), "utf8"));
  t.same(m.command, ["cargo", "run", "--quiet", "--release"]);
  t.ok(m.timeouts.start >= 60_000, "time for a first build");

  const env = plainEnv({ CARGO_TARGET_DIR, CARGO_TERM_COLOR: "never" });
  const test = await run("cargo", ["test", "--release", "--quiet"], { cwd: pluginDir, env, timeoutMs: 540_000 });
  t.equal(test.code, 0, test.code === 0 ? "cargo test: exit 0" : `cargo test:\n${test.out.slice(-6000)}`);
  t.match(test.out, /test result: ok\. 1 passed/);

  // The manifest's start timeout, as the daemon would use it: `cargo run` may wait for the
  // target folder's lock while another test builds in it.
  const report = await runConformance({ command: m.command, cwd: pluginDir, env, mode: "protocol", pluginName: "hello_rs", timeouts: { startMs: m.timeouts.start } });
  const failed = report.cases.filter((c) => !c.ok).map((c) => `${c.name}: ${c.reason}`);
  t.same(failed, [], `hello_rs: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`);
  t.equal(report.passed, 9);
});
