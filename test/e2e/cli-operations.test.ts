/**
 * start/stop/restart wait for the outcome and fail when it failed, --no-wait, --all, and
 * `bkg plugins list`'s CPU, RSS, uptime and restarts columns (issue 11.4).
 */
import t from "tap";
import { echoManifest, rogueManifest, startTestDaemon } from "../helpers/daemon.js";

const pidsOf = async (d: Awaited<ReturnType<typeof startTestDaemon>>, name: string) => (await d.client.plugins.list()).find((p) => p.name === name)!.instances.map((i) => i.pid);

t.test("start, stop and restart wait for the outcome; --no-wait answers at once; --all", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest(), other: echoManifest("other") });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  await d.waitState("other", "ready");

  const before = await pidsOf(d, "echo");
  const restart = await d.cli(["plugins", "restart", "echo"]);
  t.equal(restart.code, 0, restart.stderr);
  t.equal(restart.stdout, `echo: ready (pid ${(await pidsOf(d, "echo"))[0]})\n`, "restart answers once the new process is ready");
  t.not((await pidsOf(d, "echo"))[0], before[0], "a new process");

  const stop = await d.cli(["plugins", "stop", "echo", "--no-wait", "--json"]);
  t.match(JSON.parse(stop.stdout), { name: "echo", state: "stopped" }, "stop is graceful either way");
  const start = await d.cli(["plugins", "start", "echo", "--no-wait"]);
  t.equal(start.code, 0);
  t.match(start.stdout, /^echo: starting/, "--no-wait prints the state at once");
  await d.waitState("echo", "ready");

  const all = await d.cli(["plugins", "restart", "--all"]);
  t.equal(all.code, 0, all.stderr);
  t.match(all.stdout, /^echo: ready.*\nother: ready/m, "every plugin restarted, each answered when ready");

  const both = await d.cli(["plugins", "restart", "echo", "--all"]);
  t.equal(both.code, 2, "a name and --all is a usage error");
  const none = await d.cli(["plugins", "restart"]);
  t.equal(none.code, 2);
  t.match(none.stderr, /needs a plugin name or --all/);
});

t.test("a start that fails exits 1 and says so; list shows CPU, RSS, uptime and restarts", async (t) => {
  const d = await startTestDaemon({
    echo: echoManifest(),
    broken: rogueManifest("broken", "crash-start", { restart: { policy: "on-failure", maxRestarts: 1, windowMs: 60000, backoff: { initialMs: 10, maxMs: 20 } } }),
  });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  await d.waitState("broken", "crashloop");

  const start = await d.cli(["plugins", "start", "broken"]);
  t.equal(start.code, 1, "the plugin never became ready");
  t.match(start.stdout, /broken: start failed, crashloop/);
  t.match(start.stderr, /start failed for broken \(bkg plugins info NAME says why\)/);

  await d.waitFor(async () => (await d.client.plugins.list()).find((p) => p.name === "echo")!.instances[0].rssBytes !== undefined, "a usage sample of echo");
  const list = await d.cli(["plugins", "list"]);
  t.match(list.stdout, /^NAME\s+STATE\s+VERSION\s+INSTANCES\s+PIDS\s+CPU\s+RSS\s+UPTIME\s+RESTARTS\s+REASON/);
  t.match(list.stdout, /\necho\s+ready\s+1\.0\.0\s+1\s+\d+\s+\d+%\s+\d+\.\d MiB\s+\d+(ms|s)\s+0/, "echo's row has CPU, RSS and uptime");
  t.match(list.stdout, /\nbroken\s+crashloop\s+0\.0\.1\s+0\s+-\s+-\s+-\s+-\s+\d+\s+.*exit/, "a plugin with no process shows dashes");
});
