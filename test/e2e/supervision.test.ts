import { spawn } from "node:child_process";
import t from "tap";
import { type BkgError, ErrorCodes } from "@bkg/protocol";
import { connect } from "../../src/client/index.js";
import { BIN, echoManifest, rogueManifest, startTestDaemon } from "../helpers/daemon.js";
import { alive } from "../helpers/processes.js";

t.test("a crash loop stops retrying, keeps the evidence, and start clears it", async (t) => {
  const d = await startTestDaemon({
    flaky: rogueManifest("flaky", "crash-start", { restart: { maxRestarts: 2, windowMs: 60_000, backoff: { initialMs: 10, factor: 2, maxMs: 50 } } }),
  });
  t.teardown(() => d.stop());
  await d.waitState("flaky", "crashloop");
  const info = await d.client.plugins.info("flaky");
  t.equal(info.restarts, 2);
  t.match(info.reason, /3 exits within 60s \(limit 2 restarts\)/);
  t.match(info.lastExit, { code: 4, signal: null, reason: "exited with code 4" });
  t.ok(info.lastExit!.stderrTail.includes("crash-start: giving up at once"), "the last stderr lines are kept");
  const cli = await d.cli(["plugins", "info", "flaky"]);
  t.match(cli.stdout, /last exit\s+flaky#3 exited with code 4/);
  t.match(cli.stdout, /\| crash-start: giving up at once/);
  const e = await d.client.call("flaky.ok").catch((e) => e);
  t.equal(e.code, ErrorCodes.PluginUnavailable);
  t.match(e.message, /crashloop.*bkg plugins start flaky/);
  const states = d.events.filter((e) => e.kind === "lifecycle" && e.plugin === "flaky" && !e.instance).map((e) => (e as { state: string }).state);
  t.ok(states.includes("restarting"), `restarting came before (${states.join(" -> ")})`);
  t.equal(states.at(-1), "crashloop");

  await d.client.plugins.start("flaky");
  await d.waitFor(() => d.events.filter((e) => e.kind === "lifecycle" && e.plugin === "flaky" && e.state === "crashloop").length === 2, "a second crash loop after start");
  t.pass("start cleared the crash loop and the budget began again");
});

t.test("a hung instance is detected by ping, killed, and its call fails saying it hung", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest("echo", { health: { intervalMs: 100, timeoutMs: 150, misses: 2 } }) });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  const { pid } = (await d.client.call("echo.pid")) as { pid: number };
  const e = await d.client.call("echo.block", { ms: 20_000 }).catch((e) => e);
  t.equal(e.code, ErrorCodes.PluginCrashed);
  t.match(e.message, /hung: 2 pings in a row unanswered within 150 ms/);
  t.ok(
    d.events.some((ev) => ev.kind === "lifecycle" && ev.plugin === "echo" && ev.state === "unresponsive"),
    "an unresponsive event came first",
  );
  t.notOk(alive(pid), "the hung process was killed");
  t.equal(await d.client.call("echo.reverse", { text: "up" }, { timeoutMs: 5000 }), "pu", "a new instance serves");
});

t.test("warm standby takes over at once when the serving instance dies", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest("echo", { standby: 1 }) });
  t.teardown(() => d.stop());
  await d.waitFor(async () => (await d.client.plugins.info("echo")).instances.some((i) => i.state === "standby"), "a standby instance");
  const info = await d.client.plugins.info("echo");
  const spare = info.instances.find((i) => i.state === "standby")!;
  const serving = info.instances.find((i) => i.state === "ready")!;
  t.not(spare.pid, serving.pid);
  t.equal(((await d.client.call("echo.pid")) as { pid: number }).pid, serving.pid, "the spare takes no calls while the serving instance lives");
  process.kill(serving.pid!, "SIGKILL");
  await d.waitFor(() => d.events.some((e) => e.kind === "lifecycle" && e.state === "ready" && /warm standby .* took over/.test(e.reason ?? "")), "the takeover");
  t.equal(((await d.client.call("echo.pid")) as { pid: number }).pid, spare.pid, "the spare answers");
  await d.waitFor(async () => (await d.client.plugins.info("echo")).instances.some((i) => i.state === "standby" && i.pid !== spare.pid), "a new spare");
  t.pass("a new spare was started in the background");
});

t.test("an instance over its memory limit is replaced gracefully", async (t) => {
  // The hard limit (default memoryMb x 1.25) far above: this is about the graceful path.
  const d = await startTestDaemon({ rogue: rogueManifest("rogue", "ok", { limits: { memoryMb: 120, memoryHardMb: 2048 } }) });
  t.teardown(() => d.stop());
  await d.waitState("rogue", "ready");
  const { pid } = (await d.client.call("rogue.ok")) as { pid: number };
  await d.client.call("rogue.grow", { mb: 200 });
  await d.waitFor(() => !alive(pid), "the old instance to be retired", 15_000);
  const { pid: pid2 } = (await d.client.call("rogue.ok")) as { pid: number };
  t.not(pid2, pid);
  t.match(d.output(), /rogue#1 uses \d+ MiB \(1 process\), over its limit of 120 MiB: restarting it gracefully/);
  t.match(d.output(), /memory limits are (hard caps|enforced by sampling RSS every 100 ms)/, "the daemon says how the limit is enforced");
  await d.waitFor(async () => ((await d.client.plugins.info("rogue")).instances[0]?.rssBytes ?? 0) > 0, "RSS to be sampled");
  t.pass("RSS is reported per instance");
});

t.test("stopping a plugin reaps its grandchildren", async (t) => {
  const d = await startTestDaemon({ rogue: rogueManifest("rogue", "ok", { timeouts: { shutdown: 300, kill: 300 } }) });
  t.teardown(() => d.stop());
  await d.waitState("rogue", "ready");
  const { pid } = (await d.client.call("rogue.spawnChild")) as { pid: number };
  t.ok(alive(pid));
  await d.client.plugins.stop("rogue");
  await d.waitFor(() => !alive(pid), "the grandchild to die", 5000);
  t.pass("the grandchild (which ignores SIGTERM) is gone");
});

t.test("a daemon killed with SIGKILL leaves no plugin process; the next one reaps grandchildren", async (t) => {
  const d = await startTestDaemon({
    echo: echoManifest(),
    rogue: rogueManifest("rogue", "ok"),
    py: { name: "py", version: "1.0.0", command: ["python3", `${process.cwd()}/plugin-sdk/python/examples/conformance_plugin.py`] },
  });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  await d.waitState("rogue", "ready");
  await d.waitState("py", "ready");
  const pids = (await d.client.plugins.list()).flatMap((p) => p.instances.map((i) => i.pid!));
  t.equal(pids.length, 3);
  const { pid: grandchild } = (await d.client.call("rogue.spawnChild")) as { pid: number };
  d.proc.kill("SIGKILL");
  await d.waitFor(() => pids.every((p) => !alive(p)), "every plugin process to exit", 5000);
  t.pass("plugins exit when the daemon dies (stdin closes)");
  t.ok(alive(grandchild), "a grandchild that ignores its parent's death survives the daemon ...");

  const next = spawn(process.execPath, [BIN, "--config", d.configFile, "daemon", "start"], { stdio: "ignore", env: { ...process.env, BKG_LOG_FORMAT: "json" } });
  const nextExited = new Promise((r) => next.once("exit", r));
  t.teardown(() => void next.kill("SIGKILL"));
  await d.waitFor(() => !alive(grandchild), "the next daemon to reap the grandchild", 10_000);
  t.pass("... until the next daemon on the same data folder reaps it");
  // Stopped and gone before the data folder is removed (its plugins may still be writing there).
  next.kill("SIGTERM");
  const timer = setTimeout(() => next.kill("SIGKILL"), 10_000);
  await nextExited;
  clearTimeout(timer);
});

t.test("lazy activation: start on the first call, stop when idle", async (t) => {
  const d = await startTestDaemon({ lazy: echoManifest("lazy", { activation: "lazy", idleMs: 1000 }) });
  t.teardown(() => d.stop());
  await d.waitState("lazy", "idle");
  t.equal((await d.client.plugins.info("lazy")).instances.length, 0, "no process until called");
  t.equal(await d.client.call("lazy.reverse", { text: "zzz!" }), "!zzz", "the first call waits for the start");
  const { pid } = (await d.client.call("lazy.pid")) as { pid: number };
  await d.waitState("lazy", "idle", 5000);
  t.notOk(alive(pid), "the idle plugin's process is gone");
  t.equal(await d.client.call("lazy.reverse", { text: "ab" }), "ba", "and it starts again on demand");
});

t.test("a pool balances calls over its instances", async (t) => {
  const d = await startTestDaemon({ pool: echoManifest("pool", { instances: 3 }) });
  t.teardown(() => d.stop());
  await d.waitFor(async () => (await d.client.plugins.info("pool")).instances.filter((i) => i.state === "ready").length === 3, "3 ready instances");
  await Promise.all(Array.from({ length: 30 }, () => d.client.call("pool.sleep", { ms: 100 })));
  const calls = (await d.client.plugins.info("pool")).instances.map((i) => i.calls);
  t.equal(
    calls.reduce((a, b) => a + b, 0),
    30,
  );
  for (const c of calls) t.ok(c >= 5, `each instance took a share of the calls (${calls.join(", ")})`);
});

t.test("a stopping daemon lets the calls in flight finish before it stops their plugin", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest("echo") });
  t.teardown(() => d.stop());
  // Its own connection: d.stop() closes d.client first.
  const caller = await connect({ socketPath: d.socketPath });
  t.teardown(() => caller.close());
  const running = Array.from({ length: 4 }, (_, i) =>
    caller.call("echo.sleep", { ms: 300 + 50 * i }).then(
      () => "finished",
      (e: BkgError) => `failed ${e.code}: ${e.message}`,
    ),
  );
  await d.waitInFlight("echo");
  const stopped = d.stop();
  t.same(await Promise.all(running), ["finished", "finished", "finished", "finished"], "every call in flight at the SIGTERM got its answer");
  await stopped;
  t.match(d.output(), /echo stopped: daemon shutting down/, "then the plugin stopped");
});
