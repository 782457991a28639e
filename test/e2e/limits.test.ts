/**
 * Hard limits on plugin processes (the hardening issue, items 6-9): a memory ceiling that holds,
 * no descendant outliving the daemon, bounded logs, and an allow-listed environment.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { ErrorCodes } from "@bkg/protocol";
import { BIN, rogueManifest, startTestDaemon } from "../helpers/daemon.js";
import { alive } from "../helpers/processes.js";

t.test("bug: limits.memoryMb 300 let a plugin reach 1,463 MB in one call; past the hard limit the call fails with -33004 and the instance is replaced", async (t) => {
  const d = await startTestDaemon({ rogue: rogueManifest("rogue", "ok", { limits: { memoryMb: 64 } }) });
  t.teardown(() => d.stop());
  await d.waitState("rogue", "ready");
  const { pid } = (await d.client.call("rogue.ok")) as { pid: number };
  // Ten times the limit: the plugin answers only if it got there.
  const e = await d.client.call("rogue.balloon", { mb: 640 }, { timeoutMs: 60_000 }).catch((e) => e);
  t.equal(e.code, ErrorCodes.PluginCrashed, `the call failed (${e.message ?? JSON.stringify(e)})`);
  t.match(e.message, /killed: it used \d+ MiB \(1 process\), over its hard memory limit of 80 MiB/);
  t.notOk(alive(pid), "the instance was killed");
  const { pid: next } = (await d.client.call("rogue.ok", {}, { timeoutMs: 10_000 })) as { pid: number };
  t.not(next, pid, "a new instance serves");
  const info = await d.client.plugins.info("rogue");
  t.match(info.memory, /replaced gracefully over 64 MiB; (hard cap 80 MiB by cgroup v2|killed over 80 MiB, found by sampling every 100 ms)/, "plugins info says how the limit is enforced");
  t.match(d.output(), /rogue memory: replaced gracefully over 64 MiB/, "so does the start log");
});

t.test("bug: DATABASE_URL, GH_PAT, *_PASS and AWS keys reached every plugin; only the allow-list, passEnv and $env references do now", async (t) => {
  const secrets = {
    DATABASE_URL: "postgres://u:secret@h/db",
    GH_PAT: "ghp_secret",
    FOO_PASS: "secret-pass",
    SESSION_KEY: "secret-session",
    NPM_AUTH: "secret-npm",
    AWS_SECRET_ACCESS_KEY: "secret-aws",
    AWS_ACCESS_KEY_ID: "AKIASECRET",
    CARGO_HOME: "/opt/cargo",
    STRIPE_KEY: "sk_test_123",
    LC_TIME: "C",
  };
  const d = await startTestDaemon(
    {
      rogue: rogueManifest("rogue", "ok", {
        passEnv: ["CARGO_HOME"],
        env: { MODE: "fast", STRIPE: { $env: "STRIPE_KEY" } },
        config: { stripe: { key: { $env: "STRIPE_KEY" } }, plain: 1 },
      }),
    },
    {},
    { env: secrets },
  );
  t.teardown(() => d.stop());
  await d.waitState("rogue", "ready");
  const { env, config } = (await d.client.call("rogue.env")) as { env: Record<string, string>; config: Record<string, unknown> };
  for (const name of ["DATABASE_URL", "GH_PAT", "FOO_PASS", "SESSION_KEY", "NPM_AUTH", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "STRIPE_KEY"]) {
    t.notOk(name in env, `${name} does not reach the plugin`);
  }
  // The secret values themselves, not the word: under coverage, tap's hook in the daemon gives its
  // children _TAPJS_* variables that list test files, secrets.test.ts among them.
  const secretValues = Object.values(secrets).filter((v) => /secret|SECRET/.test(v));
  t.same(
    Object.entries(env)
      .filter(([, v]) => secretValues.some((s) => v.includes(s)))
      .map(([k]) => k),
    [],
    "no value with a secret in it",
  );
  t.equal(env.CARGO_HOME, "/opt/cargo", "passEnv passes a named variable");
  t.equal(env.LC_TIME, "C", "LC_* passes");
  t.equal(env.MODE, "fast", "the manifest's own env arrives");
  t.equal(env.STRIPE, "sk_test_123", "an env value {$env} is resolved");
  t.same(config, { stripe: { key: "sk_test_123" }, plain: 1 }, "a config value {$env} is resolved at initialize");
  t.ok(env.PATH && env.BKG_INSTANCE_ID === "rogue#1", "PATH and the daemon's BKG_* variables arrive");
  const shown = await d.client.plugins.info("rogue");
  t.same((shown.manifest as { env: unknown }).env, { MODE: "[redacted]", STRIPE: { $env: "STRIPE_KEY" } }, "the manifest keeps the reference as written (plain env values are redacted)");
});

t.test("a $env reference to a variable the daemon lacks fails the start, naming manifest, field and variable", async (t) => {
  const d = await startTestDaemon({ rogue: rogueManifest("rogue", "ok", { config: { db: { url: { $env: "NOT_SET_ANYWHERE_4711" } } } }) });
  t.teardown(() => d.stop());
  await d.waitState("rogue", "failed");
  const info = await d.client.plugins.info("rogue");
  t.match(info.reason, /manifest .*rogue\.json: \/config\/db\/url refers to \{"\$env": "NOT_SET_ANYWHERE_4711"\}, but NOT_SET_ANYWHERE_4711 is not set in the daemon's environment/);
});

/** A process that ignores SIGTERM, in its own session, carrying `env`: a stand-in for someone else's process. */
function decoy(env: Record<string, string>): number {
  const p = spawn("sh", ["-c", "trap '' TERM; exec sleep 300"], { stdio: "ignore", detached: true, env: { PATH: process.env.PATH, ...env } });
  p.unref();
  return p.pid!;
}

t.test("bug: a setsid'ed grandchild ignoring SIGTERM survived `bkg daemon stop`; now it is gone, and nothing that is not ours is touched", async (t) => {
  const d = await startTestDaemon({ rogue: rogueManifest("rogue", "ok", { timeouts: { shutdown: 300, kill: 300 } }) });
  t.teardown(() => d.stop());
  const strangers = [decoy({ BKG_DAEMON_RUN: "0000000000000000.000000000000", BKG_INSTANCE_ID: "rogue#1" }), decoy({ BKG_INSTANCE_ID: "rogue#1" })];
  t.teardown(() => strangers.forEach((p) => alive(p) && process.kill(p, "SIGKILL")));
  await d.waitState("rogue", "ready");
  const { pid } = (await d.client.call("rogue.spawnSetsid")) as { pid: number };
  t.ok(alive(pid), "the grandchild runs in a session of its own");
  const stop = await d.cli(["daemon", "stop"], { timeoutMs: 30_000 });
  t.equal(stop.code, 0, stop.stderr);
  await d.waitFor(() => d.proc.exitCode !== null, "the daemon to exit");
  await d.waitFor(() => !alive(pid), "the grandchild to be killed", 10_000);
  t.pass("the grandchild is gone after `bkg daemon stop`");
  t.ok(strangers.every(alive), "processes of another data folder, or without the mark, are left alone");
});

t.test("bug: a setsid'ed grandchild survived a SIGKILL of the daemon and the next start's reaper; the next start reaps it now", async (t) => {
  const d = await startTestDaemon({ rogue: rogueManifest("rogue", "ok") });
  t.teardown(() => d.stop());
  const stranger = decoy({ BKG_INSTANCE_ID: "rogue#1" });
  t.teardown(() => alive(stranger) && process.kill(stranger, "SIGKILL"));
  await d.waitState("rogue", "ready");
  const { pid: plugin } = (await d.client.call("rogue.ok")) as { pid: number };
  const { pid: grandchild } = (await d.client.call("rogue.spawnSetsid")) as { pid: number };
  d.proc.kill("SIGKILL");
  await d.waitFor(() => !alive(plugin), "the plugin to exit (its stdin closed)");
  t.ok(alive(grandchild), "the grandchild outlives the daemon killed with SIGKILL ...");

  const next = spawn(process.execPath, [BIN, "--config", d.configFile, "daemon", "start"], { stdio: "ignore", env: { ...process.env, BKG_LOG_FORMAT: "json" } });
  const nextExited = new Promise((r) => next.once("exit", r));
  t.teardown(() => void next.kill("SIGKILL"));
  await d.waitFor(() => !alive(grandchild), "the next daemon to reap the grandchild", 20_000);
  t.pass("... until the next daemon on the same data folder reaps it");
  t.ok(alive(stranger), "a process carrying only a matching instance id is not ours and lives");
  next.kill("SIGTERM");
  const timer = setTimeout(() => next.kill("SIGKILL"), 10_000);
  await nextExited;
  clearTimeout(timer);
});

t.test("bug: a plugin writing 100 MB to stderr pushed 126 MB into the daemon's log; it gets a bounded share, a note says what was dropped, its own log file gets every line", async (t) => {
  const d = await startTestDaemon({ rogue: rogueManifest("rogue", "ok") }, { logs: { daemonLinesPerSec: 20, daemonBurst: 200 } });
  t.teardown(() => d.stop());
  await d.waitState("rogue", "ready");
  const lines = 20_000;
  await d.client.call("rogue.spew", { lines, bytes: 100, longLine: 1024 * 1024 }, { timeoutMs: 60_000 });
  const note = await d.logLine("from rogue's stderr", "the note about dropped lines");
  t.match(note.msg, /^dropped \d+ lines \(\d+ bytes\) from rogue's stderr and bkg\/log in the last [\d.]+ s: over logs.daemonLinesPerSec 20 \(burst 200\); every line is in .*rogue\.log$/);
  t.ok((note.droppedLines as number) > lines / 2, `most lines were dropped from the daemon's log (${note.droppedLines})`);
  const copied = d
    .output()
    .split("\n")
    .filter((l) => l.includes('"stream":"stderr"') && l.includes('"plugin":"rogue"')).length;
  t.ok(copied < lines / 2, `the daemon's log got a bounded share (${copied} of ${lines} lines)`);

  const file = join(d.dir, "data", "logs", "plugins", "rogue.log");
  await d.waitFor(() => existsSync(file) && readFileSync(file, "utf8").includes("LLLL"), "the plugin's log file to get its lines");
  const text = readFileSync(file, "utf8");
  t.ok(text.includes(`stderr: ${lines} xxx`), "the plugin's own log file has every line, the last included");
  t.match(text, /stderr: L{16384} \[line cut at 16384 bytes \(logs.maxLineBytes\); 1032192 more bytes dropped\]/, "a very long line is cut with a note");
  const ring = await d.client.plugins.logs("rogue");
  t.ok(ring.length <= 500, "the in-memory ring keeps its line count");
  t.ok(Math.max(...ring.map((e) => (e.kind === "log" ? e.msg.length : 0))) < 17 * 1024, "and no line in it is longer than the cut");
});
