/**
 * Supervision under fire: steady load from a raw socket client while instances are SIGKILLed,
 * hot-swapped and made to hang. Bounded in time; every process is torn down.
 */
import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import t from "tap";
import { ErrorCodes, FrameParser, encodeFrame } from "@bkg/protocol";
import { echoManifest, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

interface Reply {
  id: number;
  result?: unknown;
  error?: { code: number; message: string };
}

/** A client that counts every response per id, to prove each call got exactly one answer. */
function rawClient(path: string) {
  const socket = createConnection(path);
  const answers = new Map<number, Reply[]>();
  const parser = new FrameParser(
    (m) => {
      const r = m as Reply;
      if (typeof r.id !== "number") return;
      const list = answers.get(r.id) ?? [];
      list.push(r);
      answers.set(r.id, list);
    },
    (e) => {
      throw e;
    },
  );
  socket.on("data", (d) => parser.push(d));
  let nextId = 0;
  return {
    answers,
    send(method: string, params: unknown): number {
      const id = ++nextId;
      socket.write(encodeFrame({ jsonrpc: "2.0", id, method, params }));
      return id;
    },
    get sent() {
      return nextId;
    },
    close: () => socket.destroy(),
  };
}

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Of the 10 reloads the chaos test asks for, at least this many complete as swaps: on this 2-core machine a swap of 4 instances under load takes ~2 s, and reloads asked meanwhile merge (4 of 10 measured). */
const SWAPS_DONE_MIN = 3;

async function servingPids(d: TestDaemon): Promise<number[]> {
  const info = await d.client.plugins.info("echo").catch(() => undefined);
  return info ? info.instances.filter((i) => i.state === "ready" && i.pid).map((i) => i.pid!) : [];
}

t.test("chaos: kills, swaps and a hang under steady load; every call answered exactly once", async (t) => {
  const d = await startTestDaemon({
    echo: echoManifest("echo", {
      instances: 4,
      health: { intervalMs: 200, timeoutMs: 200, misses: 2 },
      restart: { maxRestarts: 100, windowMs: 60_000, backoff: { initialMs: 10, maxMs: 100 } },
      timeouts: { call: 10_000, drain: 5_000 },
    }),
  });
  t.teardown(() => d.stop());
  await d.waitFor(async () => (await servingPids(d)).length === 4, "4 ready instances");
  const rssBefore = rssMiB(d.proc.pid!);
  const c = rawClient(d.socketPath);
  t.teardown(() => c.close());

  // Offered load: 600 calls/s, paced by the clock (timers on a busy machine fire late), for 8 s.
  const started = Date.now();
  const load = setInterval(() => {
    const due = Math.floor(((Date.now() - started) / 1000) * 600);
    while (c.sent < due) c.send("echo.echo", { n: c.sent });
  }, 5);

  const hungId = c.send("echo.block", { ms: 60_000 });
  let kills = 0;
  let swaps = 0;
  const reloads: Promise<unknown>[] = [];
  for (let step = 0; step < 16; step++) {
    await pause(450);
    if (step % 2 === 0 && kills < 6) {
      const pids = await servingPids(d);
      if (pids.length) {
        process.kill(pids[Math.floor(Math.random() * pids.length)], "SIGKILL");
        kills++;
      }
    }
    if (swaps < 10 && step % 3 !== 2) {
      reloads.push(d.client.plugins.reload("echo").catch((e) => e.message));
      swaps++;
    }
  }
  clearInterval(load);
  const elapsed = (Date.now() - started) / 1000;
  const reloadErrors = (await Promise.all(reloads)).filter((r) => typeof r === "string");
  t.same(reloadErrors, [], "every reload request was answered");
  const offered = c.sent;
  await d.waitFor(() => c.answers.size === offered, `answers to all ${offered} calls`, 30_000);

  const replies = [...c.answers.entries()];
  const duplicated = replies.filter(([, r]) => r.length !== 1);
  t.equal(duplicated.length, 0, "no call was answered twice");
  const failures = replies.map(([id, [r]]) => ({ id, ...r })).filter((r) => r.error);
  const hung = failures.find((f) => f.id === hungId);
  // The hung instance may also be among the ones killed at random; either way the call fails with -33004 saying why.
  t.match(hung?.error, { code: ErrorCodes.PluginCrashed, message: /hung|killed by SIGKILL/ }, "the call on the hung instance failed saying it hung");
  const unexplained = failures.filter((f) => f.error!.code !== ErrorCodes.PluginCrashed || !/killed by SIGKILL|hung/.test(f.error!.message));
  t.same(unexplained.slice(0, 5), [], "every failure landed on an instance that was killed or hung");
  // Swaps that happened, not reloads asked for: a reload asked during a swap is merged into one
  // more swap after it, so fewer swaps than reloads is right; a swap begun and not completed is not.
  const states = (state: string) => d.events.filter((e) => e.kind === "lifecycle" && e.plugin === "echo" && e.state === state && !e.instance).length;
  const swapped = states("swapped");
  t.equal(swapped, states("swapping"), "every swap that began completed (none fell back)");
  t.comment(
    `${offered} calls in ${elapsed.toFixed(1)} s (${Math.round(offered / elapsed)}/s offered), ${kills} kills, ${swaps} reloads asked, ${swapped} swaps done, ${failures.length} failed on killed/hung instances`,
  );
  t.ok(kills >= 6, `${kills} instances killed`);
  t.ok(swapped >= SWAPS_DONE_MIN, `${swapped} hot swaps completed under the kills (of ${swaps} reloads asked)`);
  const rssAfter = rssMiB(d.proc.pid!);
  t.ok(rssAfter < rssBefore + 150, `the daemon's RSS stays bounded (${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MiB)`);
  t.equal(await d.client.call("echo.reverse", { text: "calm" }, { timeoutMs: 10_000 }), "mlac", "the plugin serves afterwards");
});

t.test("hot swap under load: about 2,000 calls through 5 swaps, 0 failed", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest("echo", { instances: 2, timeouts: { drain: 10_000 } }) });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  const c = rawClient(d.socketPath);
  t.teardown(() => c.close());
  // 400 calls/s paced by the clock, for at least 5 s: a fast machine swaps sooner, not with fewer calls.
  const started = Date.now();
  const load = setInterval(() => {
    const due = Math.floor(((Date.now() - started) / 1000) * 400);
    while (c.sent < due) c.send("echo.sleep", { ms: 20 });
  }, 10);
  for (let i = 0; i < 5; i++) {
    await pause(500);
    const r = await d.client.plugins.reload("echo");
    t.equal(r.state, "ready", `swap ${i + 1} completed`);
  }
  await pause(Math.max(300, started + 5000 - Date.now()));
  clearInterval(load);
  const offered = c.sent;
  await d.waitFor(() => c.answers.size === offered, `answers to all ${offered} calls`, 30_000);
  const failed = [...c.answers.values()].filter(([r]) => r.error);
  t.ok(offered >= 1500, `${offered} calls were made during the swaps`);
  t.same(failed, [], "0 failed calls");
  t.equal(d.events.filter((e) => e.kind === "lifecycle" && e.plugin === "echo" && e.state === "swapped").length, 5);
});
