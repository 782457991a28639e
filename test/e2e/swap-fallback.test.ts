/**
 * Issue 20, item 4 — hot swap's fallback was untested. A reload to a version that cannot start
 * (exits at once) or that starts but refuses initialize must leave the old version serving, with
 * no call failing meanwhile; and the drain timeout must end an old instance whose call never
 * finishes.
 */
import t from "tap";
import { echoManifest, ROGUE, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

/** Calls echo.reverse, four at a time, until stopped; counts answers and failures. */
function steadyLoad(d: TestDaemon) {
  const r = { calls: 0, failures: [] as string[], running: true, done: Promise.resolve() };
  r.done = (async () => {
    while (r.running) {
      await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          d.client.call("echo.reverse", { text: `abc${i}` }).then(
            (v) => (v === `${i}cba` ? r.calls++ : r.failures.push(`wrong answer ${JSON.stringify(v)}`)),
            (e: Error) => r.failures.push(e.message),
          ),
        ),
      );
    }
  })();
  return r;
}

const swapFailures = (d: TestDaemon) => d.events.flatMap((e) => (e.kind === "lifecycle" && e.plugin === "echo" && !e.instance && /swap failed/.test(e.reason ?? "") ? [e] : []));

for (const [what, scenario, why] of [
  ["fails to start (exits at once)", "crash-start", /exit|code 4|crash-start/i],
  ["starts but refuses initialize", "refuse-version", /protocol|9\.0\.0|initialize/i],
] as const) {
  t.test(`a reload to a version that ${what} keeps the old version serving, no call failed`, async (t) => {
    const v1 = echoManifest("echo", { instances: 2 });
    const d = await startTestDaemon({ echo: v1 });
    t.teardown(() => d.stop());
    await d.waitState("echo", "ready");
    const load = steadyLoad(d);
    await d.waitFor(() => load.calls >= 20, "the load to get going");

    d.writeManifest("echo", { ...v1, version: "2.0.0", command: ["node", ROGUE, scenario], cwd: undefined });
    await d.waitFor(() => swapFailures(d).length > 0, "the swap to fail");
    const callsAtFailure = load.calls;
    await d.waitFor(() => load.calls >= callsAtFailure + 20, "more calls after the failed swap");
    load.running = false;
    await load.done;

    t.same(load.failures, [], `no call failed (${load.calls} answered)`);
    t.match(swapFailures(d)[0].reason, /still serving the previous version/);
    t.match(swapFailures(d)[0].reason, why, "the reason says what went wrong");
    const echo = (await d.client.plugins.list()).find((p) => p.name === "echo")!;
    t.match(echo, { state: "ready", version: "1.0.0" }, "the old version serves");
    t.notOk(
      d.events.some((e) => e.kind === "lifecycle" && e.plugin === "echo" && e.state === "swapped"),
      "nothing was swapped",
    );
    t.equal(await d.client.call("echo.reverse", { text: "after" }), "retfa");
  });
}

t.test("the drain timeout ends an old instance whose call never finishes", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest("echo", { timeouts: { drain: 1000 } }) });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  const pidNow = async () => ((await d.client.call("echo.pid", {})) as { pid: number }).pid;
  const oldPid = await pidNow();
  const stuck = d.client.call("echo.sleep", { ms: 120_000 }, { timeoutMs: 180_000 }).then(
    () => "answered",
    (e: Error) => e.message,
  );
  await d.waitInFlight("echo");
  const r = await d.client.plugins.reload("echo");
  t.equal(r.state, "ready", "the swap itself completes");
  t.not(await pidNow(), oldPid, "new calls go to the new instance");
  const line = await d.logLine("drain timeout (1000 ms) with 1 calls in flight", "the drain timeout to retire the old instance", 30_000);
  t.match(line, { plugin: "echo" });
  await d.waitFor(() => {
    try {
      process.kill(oldPid, 0);
      return false;
    } catch {
      return true;
    }
  }, "the old instance's process to exit");
  t.not(await stuck, "answered", `the stuck call ended with the instance: ${await stuck}`);
});
