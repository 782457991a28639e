/**
 * `bkg dev` on a freshly scaffolded TypeScript plugin, with no daemon running: dev starts one,
 * attaches the plugin, streams its logs; a call answers; an edit of the source hot-swaps it;
 * Ctrl-C (SIGINT) detaches it and removes the dev manifest.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { connect, type BkgClient } from "../../src/client/index.js";
import { BIN } from "../helpers/daemon.js";
import { bkg, plainEnv, scratch } from "../sdk/helpers/scaffold-env.js";

const { dir, config } = scratch("bkg-dev-");
const socketPath = join(dir, "data", "bkg.sock");
const manifestsDir = join(dir, "manifests");

t.teardown(async () => {
  // The daemon bkg dev started keeps running by design: stop it, by its pid if need be.
  const r = await bkg(config, ["daemon", "stop", "--timeout", "10000"]);
  if (r.code !== 0) {
    const pid = Number(existsSync(join(dir, "data", "bkg.pid")) ? readFileSync(join(dir, "data", "bkg.pid"), "utf8") : NaN);
    if (pid > 0) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function startDev(args: string[]): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [BIN, "--config", config, "dev", ...args], { cwd: dir, env: plainEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  return { proc, output: () => out, exited };
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, context: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n--- bkg dev output ---\n${context().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test("bkg dev: starts a daemon, attaches the plugin, hot-swaps on save, detaches on Ctrl-C", async (t) => {
  const pluginDir = join(dir, "hello");
  const made = await bkg(config, ["plugin", "new", "hello", "--lang", "ts", "--dir", pluginDir]);
  t.equal(made.code, 0, made.code === 0 ? "scaffolded" : made.out);

  const dev = startDev(["hello"]);
  t.teardown(() => {
    if (dev.proc.exitCode === null) dev.proc.kill("SIGKILL");
  });
  await until("the plugin to be ready", () => (/hello is ready: hello\.greet/.test(dev.output()) ? true : undefined), 30_000, dev.output);
  t.match(dev.output(), /started a daemon in the background \(pid \d+/, "no daemon ran: dev started one");
  t.match(dev.output(), /hello from hello\/bkg\.plugin\.json, attached as manifests\/hello\.json/);
  const attached = JSON.parse(readFileSync(join(manifestsDir, "hello.json"), "utf8"));
  t.equal(attached.cwd, pluginDir, "the dev manifest points at the plugin folder");

  let client: BkgClient | undefined;
  t.teardown(() => client?.close());
  client = await connect({ socketPath });
  t.equal(await client.call("hello.greet", { who: "bkg" }), "hello, bkg");
  await until("the plugin's log line in dev's output", () => (/INFO {2}hello#1 greeting \{"who":"bkg"\}/.test(dev.output()) ? true : undefined), 5000, dev.output);

  const src = join(pluginDir, "src", "index.ts");
  writeFileSync(src, readFileSync(src, "utf8").replace('const GREETING = "hello";', 'const GREETING = "howdy";'));
  await until("the new version to answer", async () => ((await client!.call("hello.greet", { who: "bkg" })) === "howdy, bkg" ? true : undefined), 30_000, dev.output);
  t.pass("a save hot-swapped the plugin");
  t.match(dev.output(), /hello swapping: files changed: src\/index\.ts/, "dev showed the swap");

  dev.proc.kill("SIGINT");
  const code = await Promise.race([dev.exited, new Promise((r) => setTimeout(r, 20_000, "still running"))]);
  t.equal(code, 0, "Ctrl-C ends bkg dev with exit 0");
  t.match(dev.output(), /interrupted: hello detached \(manifests\/hello\.json removed\)/);
  t.notOk(existsSync(join(manifestsDir, "hello.json")), "the dev manifest is gone");
  t.notOk(
    (await client.plugins.list()).some((p) => p.name === "hello"),
    "the daemon no longer runs it",
  );
});

t.test("bkg dev: a folder without a manifest, and a name taken by another folder", async (t) => {
  writeFileSync(join(manifestsDir, "hello.json"), JSON.stringify({ name: "hello", version: "1.0.0", command: ["node", "x.mjs"], cwd: "/somewhere/else" }));
  const [none, taken] = await Promise.all([bkg(config, ["dev", dir]), bkg(config, ["dev", join(dir, "hello")])]);
  t.equal(none.code, 1);
  t.match(none.out, /bkg dev: no manifest for .*: expected bkg\.plugin\.json there/);
  t.equal(taken.code, 1);
  t.match(taken.out, /manifests\/hello\.json already exists for another plugin folder \(\/somewhere\/else\)/);
  rmSync(join(manifestsDir, "hello.json"));
});
