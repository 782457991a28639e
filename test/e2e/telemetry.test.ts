/**
 * Telemetry end to end against a real daemon: `bkg events`, `bkg top`, plugin log files with
 * rotation, telemetry switched off, and what survives a SIGKILL (at most the last flush
 * interval of telemetry is lost; the apikeys plugin's users are written synchronously).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { SqliteStore } from "../../src/store/index.js";
import { summarizeRollups } from "../../src/telemetry/stats-summary.js";
import { echoManifest, ROOT, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { api } from "../helpers/http.js";

const CHATTY = join(ROOT, "test", "fixtures", "plugins", "chatty.mjs");

t.test('bkg events: lifecycle, call errors, audit naming the real actor (bug: always "operator"); filters; --json', async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() }, { telemetry: { flushMs: 200 } });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  await t.rejects(d.client.call("echo.fail", { code: -32042, message: "nope" }));
  await t.rejects(d.client.call("echo.reverse", { text: 5 }), { code: -32602 });
  await d.client.plugins.stop("echo");
  const started = await api(d.httpUrl!, d.rootToken())("POST", "/api/plugins/echo/start");
  t.equal(started.status, 200, started.text);
  await d.waitState("echo", "ready");
  await d.waitFor(async () => (await d.cli(["events", "--kind", "audit", "--json"])).stdout.includes("plugins.start"), "the audit event of the HTTP start");

  const table = await d.cli(["events"]);
  t.equal(table.code, 0, table.stderr);
  t.match(table.stdout, /TIME\s+KIND\s+PLUGIN\s+WHAT\s+MESSAGE/);
  t.match(table.stdout, /daemon\s+-\s+started\s+bkg .* started/);
  t.match(table.stdout, /lifecycle\s+echo\s+ready/);
  t.match(table.stdout, /call-error\s+echo\s+echo\.reverse -32602\s+invalid params/);
  t.match(table.stdout, /audit\s+echo\s+plugins\.stop\s+plugins\.stop by socket on echo/, "the unix socket");
  t.match(table.stdout, /audit\s+echo\s+plugins\.start\s+plugins\.start by root on echo/, "HTTP with the root token");
  t.notMatch(table.stdout, /by operator/);

  const json = await d.cli(["events", "--plugin", "echo", "--kind", "call-error", "--json"]);
  const errors = json.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  t.equal(errors.length, 2, json.stdout);
  t.match(errors[1], { kind: "call-error", plugin: "echo", name: "reverse", code: -32602, nodeId: String, ts: Number });
  t.ok(errors.every((e) => e.plugin === "echo"));

  const none = await d.cli(["events", "--since", "2026-01-01T00:00:00Z", "--until", "2026-01-02T00:00:00Z"]);
  t.match(none.stdout, /no events since/);
  const bad = await d.cli(["events", "--since", "yesterday-ish"]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /since "yesterday-ish" is not a time: use a duration back from now \(90s, 15m, 1h, 7d\)/);
  const badKind = await d.client.events({ kinds: "nonsense" }).catch((e) => e);
  t.match(badKind, { code: -32602, message: /kinds must be some of: lifecycle, call-error, audit, plugin, daemon/ });
});

t.test("bkg top: one screen with calls, rates, latency, RSS; --json", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() }, { telemetry: { flushMs: 300 } });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  for (let i = 0; i < 40; i++) await d.client.call("echo.reverse", { text: `call ${i}` });
  await t.rejects(d.client.call("echo.reverse", {}));
  const once = await d.cli(["top", "--once"]);
  t.equal(once.code, 0, once.stderr);
  const lines = once.stdout.split("\n");
  t.match(lines[0], /^bkg \S+ {2}node \S+ {2}pid \d+ {2}up /);
  t.match(lines[1], /^store sqlite .*bkg\.db {2}telemetry on, flush every 300ms/);
  const header = lines.find((l) => l.startsWith("PLUGIN"))!;
  t.match(header, /PLUGIN\s+STATE\s+INST\s+INFLIGHT\s+QUEUED\s+CALLS\/S\s+P50\s+P99\s+ERR\/S\s+ERRORS\s+CALLS\s+RSS\s+CPU\s+RESTARTS/);
  const row = lines
    .find((l) => l.startsWith("echo "))!
    .trim()
    .split(/\s+/);
  t.same([row[0], row[1], row[2]], ["echo", "ready", "1"]);
  t.equal(row[9], "1", "errors");
  t.equal(row[10], "41", "calls");
  t.match(row[11], /^[1-9]\d*(\.\d)?M$/, "RSS of the plugin's process group (a running plugin uses more than 0)");
  t.ok(
    lines.some((l) => /^ {2}echo#1\s+ready\s+pid \d+/.test(l)),
    "instances below their plugin",
  );

  const snap = JSON.parse((await d.cli(["top", "--json"])).stdout);
  const echo = snap.plugins.find((p: { name: string }) => p.name === "echo");
  t.match(echo, { calls: 41, errors: 1, state: "ready", restarts: 0 });
  t.ok(echo.ratePerSec > 0, "calls/s over the recent window");
  t.ok(echo.p50 > 0 && echo.p99 >= echo.p50, "p50 and p99");
  t.ok(echo.rssBytes > 1_000_000, "RSS from /proc");
  t.match(echo.methods, [{ method: "reverse", calls: 41, errors: 1 }]);
  t.match(snap.telemetry, { enabled: true, driver: "sqlite", flushMs: 300 });
});

t.test("telemetry.enabled false: calls are not recorded, events still are", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() }, { telemetry: { enabled: false, flushMs: 200 } });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  await d.client.call("echo.reverse", { text: "x" });
  await t.rejects(d.client.call("echo.reverse", {}));
  const snap = await d.client.telemetry.live();
  t.match(snap.telemetry, { enabled: false });
  t.match(snap.plugins[0], { name: "echo", calls: 0, methods: [] });
  const top = await d.cli(["top", "--once"]);
  t.match(top.stdout, /telemetry OFF/);
  const events = await d.client.events({ plugin: "echo" });
  t.ok(
    events.some((e) => e.kind === "lifecycle" && e.name === "ready"),
    "lifecycle events are kept",
  );
  t.notOk(
    events.some((e) => e.kind === "call-error"),
    "no call errors without the recorder",
  );
  const stats = await d.client.telemetry.stats({ since: "1h" });
  t.same(stats.methods, []);
});

t.test("plugin log files rotate by size and keep `files` files", async (t) => {
  const maxBytes = 4096;
  const d = await startTestDaemon({ chatty: { name: "chatty", version: "1.0.0", command: ["node", CHATTY], provides: ["spam"] } }, { logs: { maxBytes, files: 3 } });
  t.teardown(() => d.stop());
  await d.waitState("chatty", "ready");
  const dir = join(d.dir, "data", "logs", "plugins");
  // 120 lines of ~120 bytes: ~14 KiB, more than three files' worth.
  for (let from = 0; from < 120; from += 30) await d.client.call("chatty.spam", { n: 30, size: 100, from });
  const file = join(dir, "chatty.log");
  await d.waitFor(() => existsSync(file) && readFileSync(file, "utf8").includes("line 000119"), "the last line in chatty.log");
  t.ok(existsSync(`${file}.1`) && existsSync(`${file}.2`), "rotated files .1 and .2");
  t.notOk(existsSync(`${file}.3`), "no more than 3 files");
  for (const f of [file, `${file}.1`, `${file}.2`]) t.ok(statSync(f).size <= maxBytes, `${f} within maxBytes (${statSync(f).size})`);
  const current = readFileSync(file, "utf8");
  t.match(current, /^\S+Z INFO {2}chatty#1 stderr: line 000\d{3} x+$/m, "time, level, instance, stream, message");
  const older = readFileSync(`${file}.1`, "utf8");
  const first = (s: string) => Number(/line (\d{6})/.exec(s)![1]);
  t.ok(first(older) < first(current), ".1 holds older lines than the current file");
  t.notOk(readFileSync(`${file}.2`, "utf8").includes("line 000000"), "the oldest lines were dropped");
});

t.test("SIGKILL loses at most the last flush interval of telemetry; apikeys' users survive", async (t) => {
  const flushMs = 400;
  const apikeys = {
    name: "apikeys",
    version: "1.0.0",
    command: ["node", "index.mjs"],
    cwd: join(ROOT, "plugins", "apikeys"),
    provides: ["auth.createUser", "auth.listUsers"],
    config: { bcryptRounds: 4, bootstrapAdmin: { username: "root", password: "root-pass-1" } },
  };
  const d = await startTestDaemon({ echo: echoManifest(), apikeys }, { telemetry: { flushMs } });
  let restarted: TestDaemon | undefined;
  t.teardown(async () => {
    await restarted?.stop();
    await d.stop();
  });
  await d.waitState("echo", "ready");
  await d.waitState("apikeys", "ready");
  await d.client.call("apikeys.auth.createUser", { username: "alice", password: "alice-pass-1", role: "viewer", actor: "root" });
  for (let i = 0; i < 30; i++) await d.client.call("echo.echo", { i });
  await new Promise((r) => setTimeout(r, 2.5 * flushMs)); // at least two flushes
  for (let i = 0; i < 10; i++) await d.client.call("echo.echo", { i }); // may be lost
  d.proc.kill("SIGKILL");
  await d.waitFor(() => d.proc.exitCode !== null || d.proc.signalCode !== null, "the daemon to die");

  const opened = SqliteStore.open(join(d.dir, "data", "bkg.db"));
  if (!opened.ok) throw new Error(opened.error);
  const store = opened.value;
  const rollups = await store.rollups({ since: Date.now() - 600_000 });
  const events = await store.events({ limit: 1000 });
  await store.close();
  const calls = rollups.ok ? (summarizeRollups(rollups.value).find((m) => m.plugin === "echo" && m.method === "echo")?.calls ?? 0) : -1;
  t.ok(calls >= 30 && calls <= 40, `the 30 calls made before the last flush are stored (${calls} of 40)`);
  t.ok(events.ok && events.value.some((e) => e.kind === "lifecycle" && e.plugin === "echo" && e.name === "ready"), "lifecycle events are stored");

  // A daemon on the same data folder: the user created before the kill is there.
  restarted = await startTestDaemon({ apikeys }, { dataDir: join(d.dir, "data"), telemetry: { flushMs } });
  await restarted.waitState("apikeys", "ready");
  const users = (await restarted.client.call("apikeys.auth.listUsers", {})) as { users: { username: string }[] };
  t.ok(
    users.users.some((u) => u.username === "alice"),
    "users are written synchronously by apikeys",
  );
  const after = await restarted.client.events({ kinds: "daemon" });
  t.ok(after.filter((e) => e.name === "started").length >= 2, "both starts are in the event log");
});
