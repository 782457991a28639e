/**
 * `bkg plugin new --lang rust`, generated outside the checkout and used with no edits: its
 * `cargo test` passes; under `bkg dev` the daemon runs its manifest's build step (cargo) before
 * starting it, a save rebuilds and hot-swaps it, and a save that does not compile leaves the
 * running version serving with the compiler's error in `bkg plugins info`. Builds share the
 * Rust SDK's target folder (and the scaffold copies the SDK's Cargo.lock), so the
 * dependencies are compiled once.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { connect, type BkgClient } from "../../src/client/index.js";
import { BIN, ROOT } from "../helpers/daemon.js";
import { bkg, CARGO_TARGET_DIR, plainEnv, run, scratch } from "../sdk/helpers/scaffold-env.js";

t.setTimeout(15 * 60_000); // cargo builds, on a busy 2-core machine
const { dir, config } = scratch("bkg-scaffold-rs-");
const env = plainEnv({ CARGO_TARGET_DIR, CARGO_TERM_COLOR: "never" });
t.teardown(async () => {
  const r = await bkg(config, ["daemon", "stop", "--timeout", "10000"]);
  const pidFile = join(dir, "data", "bkg.pid");
  if (r.code !== 0 && existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
    } catch {
      /* gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, context: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve()
      .then(fn)
      .catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n--- output ---\n${context().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test("Rust, with --dir: cargo test; bkg dev builds it, rebuilds on save, and a broken save keeps the old version serving", { timeout: 900_000 }, async (t) => {
  const pluginDir = join(dir, "hello-rs");
  const r = await bkg(config, ["plugin", "new", "hello_rs", "--lang", "rust", "--dir", pluginDir]);
  t.equal(r.code, 0, r.code === 0 ? "bkg plugin new: exit 0" : r.out);
  t.match(r.out, /cargo test --release/, "its next steps say cargo test --release, which reuses the daemon's release build (the test below runs it)");
  for (const f of ["Cargo.toml", "Cargo.lock", "src/main.rs", "tests/plugin.rs", "README.md", ".gitignore", "bkg.plugin.json"]) t.ok(existsSync(join(pluginDir, f)), f);
  t.match(readFileSync(join(pluginDir, "Cargo.toml"), "utf8"), `bkg-plugin = { path = ${JSON.stringify(join(ROOT, "plugin-sdk/rust"))} }`);
  const m = JSON.parse(readFileSync(join(pluginDir, "bkg.plugin.json"), "utf8"));
  t.same(m.command, ["build/bin/hello_rs"]);
  t.match(m.build, { command: ["cargo", "install", "--path", ".", "--root", "build", "--locked", "--force"], outputs: ["build/bin/hello_rs"] });

  const test = await run("cargo", ["test", "--release", "--quiet"], { cwd: pluginDir, env, timeoutMs: 540_000 });
  t.equal(test.code, 0, test.code === 0 ? "cargo test: exit 0" : `cargo test:\n${test.out.slice(-6000)}`);
  t.match(test.out, /test result: ok\. 1 passed/);

  // bkg dev starts the daemon with this environment: its builds get CARGO_TARGET_DIR.
  const dev = spawn(process.execPath, [BIN, "--config", config, "dev", pluginDir], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  dev.stdout!.on("data", (d) => (out += d));
  dev.stderr!.on("data", (d) => (out += d));
  t.teardown(() => void (dev.exitCode === null && dev.kill("SIGKILL")));
  const output = () => out;
  await until("the plugin to be built and ready", () => (/hello_rs is ready: hello_rs\.greet/.test(out) ? true : undefined), 600_000, output);
  t.match(out, /hello_rs building: /, "dev showed the build");
  t.ok(existsSync(join(pluginDir, "build/bin/hello_rs")), "the build installed the binary the manifest runs");

  let client: BkgClient | undefined;
  t.teardown(() => client?.close());
  client = await connect({ socketPath: join(dir, "data", "bkg.sock") });
  t.equal(await client.call("hello_rs.greet", { who: "bkg" }), "hello, bkg");

  const src = join(pluginDir, "src", "main.rs");
  const good = readFileSync(src, "utf8");
  writeFileSync(src, good.replace('const GREETING: &str = "hello";', 'const GREETING: &str = "howdy";'));
  await until("the rebuilt version to answer", async () => ((await client!.call("hello_rs.greet", { who: "bkg" })) === "howdy, bkg" ? true : undefined), 300_000, output);
  t.pass("a save rebuilt and hot-swapped the plugin");

  writeFileSync(src, good.replace('const GREETING: &str = "hello";', "const GREETING: &str = howdy;"));
  await until("the broken build to fail", async () => ((await client!.plugins.info("hello_rs")).build?.state === "failed" ? true : undefined), 300_000, output);
  t.equal(await client.call("hello_rs.greet", { who: "bkg" }), "howdy, bkg", "the previous version still serves");
  const info = await client.plugins.info("hello_rs");
  t.equal(info.state, "ready");
  t.match(info.reason, /build failed, still serving the previous version: build failed: cargo install .* exited with code 101/);
  t.match(info.build?.tail?.join("\n"), /error\[E0425\]: cannot find value `howdy` in this scope/, "the compiler's error is in the last lines");
  t.match(out, /error\[E0425\]/, "bkg dev showed the compiler's error");

  dev.kill("SIGINT");
  await until("bkg dev to end", () => (dev.exitCode !== null ? true : undefined), 20_000, output);
});
