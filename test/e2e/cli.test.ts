import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { DAEMON_NODE_FLAGS } from "../../src/cli/daemon-node-flags.js";
import { isAlive } from "../../src/gateway/socket-probe.js";
import { BIN, echoManifest, startTestDaemon } from "../helpers/daemon.js";

function bkg(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, BKG_LOG_FORMAT: "json", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), 15_000);
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

t.test("an invalid config: one line per problem with its JSON path, exit 78", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-cfg-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "bkg.config.json");
  writeFileSync(file, JSON.stringify({ logLevel: "loud", http: { port: 70000 }, surprise: true }));
  const r = await bkg(["--config", file, "daemon", "start"]);
  t.equal(r.code, 78);
  const lines = r.stderr.trim().split("\n");
  t.equal(lines.length, 3, r.stderr);
  t.match(r.stderr, /\/logLevel: must be one of "trace"/);
  t.match(r.stderr, /\/http\/port: must be <= 65535/);
  t.match(r.stderr, /unknown property "surprise"/);

  writeFileSync(file, "{ nope");
  const r2 = await bkg(["--config", file, "daemon", "start"]);
  t.equal(r2.code, 78);
  t.match(r2.stderr, /not valid JSON/);

  writeFileSync(file, "{}");
  const r3 = await bkg(["--config", file, "daemon", "start"], { BKG_HTTP_PORT: "eighty" });
  t.equal(r3.code, 78);
  t.match(r3.stderr, /\/http\/port: BKG_HTTP_PORT="eighty" is not a valid integer/, "environment overrides are checked too");

  const r4 = await bkg(["--config", join(dir, "missing.json"), "status"]);
  t.equal(r4.code, 78);
  t.match(r4.stderr, /does not exist/);
});

t.test("against a daemon that is not running: one clear line, exit 3; daemon stop is a success", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-none-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const args of [["status"], ["plugins", "list"], ["plugins", "start", "echo"], ["logs"], ["call", "echo.reverse", '{"text":"x"}']]) {
    const r = await bkg(["--socket", join(dir, "nobody.sock"), ...args], {}, dir);
    t.equal(r.code, 3, args.join(" "));
    t.equal(r.stderr.trim().split("\n").length, 1, `${args.join(" ")}: one line`);
    t.match(r.stderr, /no (bkg )?daemon is running at .*start one with: bkg daemon start/);
  }
  const stop = await bkg(["--socket", join(dir, "nobody.sock"), "daemon", "stop"], {}, dir);
  t.equal(stop.code, 0, "stopping a daemon that does not run reaches the state asked for");
  t.match(stop.stdout, /no bkg daemon is running at .*nothing to stop/);
});

t.test("commands against a running daemon", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");

  const call = await d.cli(["call", "echo.reverse", '{"text":"abc"}']);
  t.equal(call.code, 0);
  t.equal(call.stdout, "cba\n", "bkg call echo.reverse prints cba");

  const json = await d.cli(["call", "echo.echo", '{"a":1}', "--json"]);
  t.same(JSON.parse(json.stdout), { a: 1 });

  const stream = await d.cli(["call", "echo.stream", '{"n":3}', "--stream"]);
  t.same(
    stream.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l)),
    [{ i: 0 }, { i: 1 }, { i: 2 }, { count: 3 }],
  );

  const late = await d.cli(["call", "echo.sleep", '{"ms":3000}', "--timeout", "100"]);
  t.equal(late.code, 1);
  t.match(late.stderr, /error -33001 DeadlineExceeded/);

  const badJson = await d.cli(["call", "echo.reverse", "{text"]);
  t.equal(badJson.code, 2);
  t.match(badJson.stderr, /params are not valid JSON/);

  const list = await d.cli(["plugins", "list"]);
  t.match(list.stdout, /^NAME\s+STATE\s+VERSION/);
  t.match(list.stdout, /echo\s+ready\s+1\.0\.0/);
  const listJson = JSON.parse((await d.cli(["plugins", "list", "--json"])).stdout);
  t.equal(listJson[0].name, "echo");

  const info = await d.cli(["plugins", "info", "echo"]);
  t.match(info.stdout, /method\s+echo\.reverse/);
  const missing = await d.cli(["plugins", "info", "ghost"]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /no plugin named "ghost"/);

  const status = await d.cli(["status", "--json"]);
  t.match(JSON.parse(status.stdout), { pid: d.proc.pid, plugins: { total: 1 } });

  const stop = await d.cli(["plugins", "stop", "echo"]);
  t.match(stop.stdout, /echo: stopped/);
  const start = await d.cli(["plugins", "start", "echo"]);
  t.match(start.stdout, /echo: ready/, "start waits for the outcome");
  const reload = await d.cli(["plugins", "reload", "echo"]);
  t.match(reload.stdout, /echo: ready/);

  const logs = await d.cli(["plugins", "logs", "echo", "-n", "50"]);
  t.match(logs.stdout, /echo#1 stopping|old instance/);

  const help = await d.cli(["call", "--help"]);
  t.equal(help.code, 0);
  t.match(help.stdout, /--stream/);

  const stopDaemon = await d.cli(["daemon", "stop"]);
  t.equal(stopDaemon.code, 0);
  t.match(stopDaemon.stdout, /stopped/);
  await d.waitFor(() => d.proc.exitCode !== null, "the daemon to exit");
  t.equal(d.proc.exitCode, 0, "the daemon exits 0 after a graceful stop");
});

t.test("a second daemon on the same socket refuses to start", async (t) => {
  const d = await startTestDaemon({});
  t.teardown(() => d.stop());
  const r = await bkg(["--config", d.configFile, "daemon", "start"]);
  t.equal(r.code, 1);
  t.match(r.stderr, /already running/);
});

t.test("a reader that stops early (bkg ... | head) is not an error", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-epipe-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const p = spawn(process.execPath, [BIN, "plugin", "new", "piped", "--lang", "ts", "--dir", join(dir, "piped")], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  p.stderr.on("data", (c) => (stderr += c));
  // Like `head -c 1`: take the first bytes, then close the pipe while bkg is still writing.
  p.stdout.once("data", () => p.stdout.destroy());
  const code = await new Promise<number | null>((r) => p.on("close", r));
  t.equal(code, 0, "exit 0");
  t.notMatch(stderr, /EPIPE|Unhandled/, "no stack trace");
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test("bin/bkg run as a program starts node with the daemon's flags, less those NODE_OPTIONS sets", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-flags-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, "bkg.config.json");
  writeFileSync(config, JSON.stringify({ manifestsDir: "manifests", dataDir: "data", socketPath: "bkg.sock", http: { enabled: false } }));
  for (const [nodeOptions, flags] of [
    ["", DAEMON_NODE_FLAGS],
    ["--max-semi-space-size=8", DAEMON_NODE_FLAGS.filter((f) => !f.startsWith("--max-semi-space-size"))],
    ["--trace-warnings --v8_pool_size=2", DAEMON_NODE_FLAGS.filter((f) => !f.startsWith("--v8-pool-size"))],
    ["--v8-pool-size=2 --max-semi-space-size=8", []],
  ] as const) {
    // Through the kernel and sh, as a user's `bkg` (npm link's symlink) runs it.
    const p = spawn(BIN, ["--config", config, "daemon", "start"], { env: { ...process.env, BKG_CONFIG: "", NODE_OPTIONS: nodeOptions }, stdio: "ignore" });
    const exited = new Promise((r) => p.once("exit", r));
    // Until the daemon answers: sh has exec'd node by then. (The last case's socket file may
    // still be there; its daemon has exited.)
    for (let i = 0; i < 200 && !(await isAlive(join(dir, "bkg.sock"), 200)); i++) await new Promise((r) => setTimeout(r, 50));
    const argv = readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0");
    p.kill("SIGTERM");
    await exited;
    const given = argv.slice(1, argv.indexOf(BIN));
    t.same(given, flags, `NODE_OPTIONS=${JSON.stringify(nodeOptions)}: node ${given.join(" ")}`);
  }
});

t.test("daemon start --detach: logs go to a rotated daemon.log, stray output to daemon.out", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-detach-"));
  const config = join(dir, "bkg.config.json");
  writeFileSync(config, JSON.stringify({ manifestsDir: "manifests", dataDir: "data", socketPath: "bkg.sock", logLevel: "debug", http: { enabled: false }, logs: { maxBytes: 2048, files: 2 } }));
  const env = { BKG_CONFIG: "" };
  t.teardown(async () => {
    await bkg(["--config", config, "daemon", "stop"], env);
    rmSync(dir, { recursive: true, force: true });
  });
  const started = await bkg(["--config", config, "daemon", "start", "--detach"], env);
  t.equal(started.code, 0, started.stderr);
  t.match(started.stdout, /logs: +.*data\/logs\/daemon\.log/);
  const cmdline = readFileSync(`/proc/${/pid (\d+)/.exec(started.stdout)?.[1]}/cmdline`, "utf8").split("\0");
  t.same(cmdline.slice(1, 1 + DAEMON_NODE_FLAGS.length), DAEMON_NODE_FLAGS, "the daemon runs with its node flags");
  // Each rewrite of a broken manifest is a warning in the daemon's log: enough to pass 2 KiB a few times.
  mkdirSync(join(dir, "manifests"), { recursive: true });
  for (let i = 0; i < 16; i++) {
    writeFileSync(join(dir, "manifests", "broken.json"), JSON.stringify({ name: "broken", version: "1.0.0", command: [], note: "x".repeat(100 + i) }));
    await new Promise((r) => setTimeout(r, 250));
  }
  const stopped = await bkg(["--config", config, "daemon", "stop"], env);
  t.equal(stopped.code, 0, stopped.stderr);
  // `daemon stop` returns once the socket is closed; the process writes its last lines as it exits.
  const pid = Number(/pid (\d+)/.exec(stopped.stdout)?.[1]);
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  const logs = join(dir, "data", "logs");
  const files = readdirSync(logs).sort();
  t.ok(files.includes("daemon.log") && files.includes("daemon.log.1"), `rotated: ${files.join(", ")}`);
  t.notOk(files.includes("daemon.log.2"), "no more files than logs.files");
  t.ok(files.includes("daemon.out"));
  const text = readFileSync(join(logs, "daemon.log"), "utf8");
  t.ok(statSync(join(logs, "daemon.log")).size <= 4096, "the current file stays near maxBytes");
  t.match(text.trim().split("\n").at(-1), /"msg":"daemon stopped"/, "JSON lines, down to the last one at exit");
});
