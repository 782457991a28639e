/**
 * Scenario 6: start-up. From spawning `node bin/bkg daemon start` to 1, 10 and 50 echo plugins
 * ready (as bkg.plugins.list reports them), beside the floor: a fresh Node process that spawns
 * the same number of plain vscode-jsonrpc echo children and waits for each to answer once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monotonicMicros, profilesIn, summarizeProfile } from "./lib/profile.js";
import { exitWithin } from "./lib/baselines.js";
import { bootDaemon, echoManifest } from "./lib/daemon.js";
import { BASELINES } from "./lib/paths.js";
import { onCleanup, rssBytes, sleep, spawnTracked, tail, waitFor } from "./lib/procs.js";
import type { BenchContext, ProfileSummary, Row, Scenario, TargetCheck } from "./lib/scenario.js";
import { ratio, summarize } from "./lib/stats.js";

export const scenario: Scenario = {
  name: "startup",
  title: "6. Start-up",
  async run(ctx) {
    const counts = ctx.quick ? [1, 10] : [1, 10, 50];
    const runs = ctx.quick ? 2 : ctx.runs;
    const rows: Row[] = [];
    const targets: TargetCheck[] = [];
    for (const n of counts) {
      const bkg: number[] = [];
      const socketUp: number[] = [];
      const rss: number[] = [];
      const bare: number[] = [];
      const nRuns = n >= 50 ? Math.min(runs, 3) : runs;
      // One data folder for all of this case's starts, as a restarted daemon has: the first start
      // finds it empty (shown on its own row), the timed ones find what earlier starts left
      // (the store, the compiled paramsSchemas).
      const dataDir = mkdtempSync(join(tmpdir(), "bkg-bench-start-"));
      const removeDataDir = onCleanup(`remove ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true }));
      const first = await bkgStart(n, dataDir);
      await sleep(200);
      for (let r = 0; r < nRuns; r++) {
        const t = await bkgStart(n, dataDir);
        bkg.push(t.readyMs);
        socketUp.push(t.socketMs);
        rss.push(t.rssMiB);
        await sleep(200);
        bare.push(await bareStart(n));
        await sleep(200);
      }
      await removeDataDir();
      ctx.log(`startup: ${n} plugin(s) done`);
      const b = summarize(bkg);
      const f = summarize(bare);
      rows.push({
        case: `${n} echo plugin${n > 1 ? "s" : ""}`,
        subject: "bkg daemon start (restart)",
        metrics: [
          { label: "ready ms", summary: b },
          { label: "socket up ms", summary: summarize(socketUp) },
          { label: "daemon RSS MiB", summary: summarize(rss), digits: 1 },
        ],
        vs: `${ratio(b, f).toFixed(2)}x bare`,
      });
      rows.push({
        case: `${n} echo plugin${n > 1 ? "s" : ""}`,
        subject: "bkg daemon start (first, empty data folder)",
        metrics: [
          { label: "ready ms", summary: summarize([first.readyMs]) },
          { label: "socket up ms", summary: summarize([first.socketMs]) },
          { label: "daemon RSS MiB", summary: summarize([first.rssMiB]), digits: 1 },
        ],
      });
      rows.push({ case: `${n} echo plugin${n > 1 ? "s" : ""}`, subject: "bare (node + N plain children)", metrics: [{ label: "ready ms", summary: f }] });
      if (n === 10) {
        targets.push({
          target: "10 echo plugins ready in under 1 s",
          met: b.median < 1000,
          detail: `${b.median.toFixed(0)} ms (runs ${b.min.toFixed(0)}–${b.max.toFixed(0)}); the bare floor took ${f.median.toFixed(0)} ms${b.median < 1000 ? "" : `; gap ${(b.median - 1000).toFixed(0)} ms`}`,
        });
      }
    }
    let profiles: ProfileSummary[] | undefined;
    if (ctx.profile) profiles = await profileStart(ctx, 10);
    return {
      available: true,
      rows,
      targets,
      profiles,
      notes: [
        `Time from spawning the process to every plugin "ready" (polled every 10 ms over the socket) / every child answering. ${runs} runs each (at most 3 for 50 plugins), bkg and bare alternating.`,
        "bkg's timed starts reuse one data folder per case, as a restarted daemon does; the first start, on an empty folder, has its own row (one run) (it compiles the plugins' paramsSchemas that later starts load from the cache).",
        "Each plugin is the TypeScript echo plugin (Node + @bkg/plugin-sdk); the bare children are plain vscode-jsonrpc scripts, so they load a little less code.",
      ],
    };
  },
};

async function bkgStart(n: number, dataDir: string): Promise<{ readyMs: number; socketMs: number; rssMiB: number }> {
  const manifests = Object.fromEntries(Array.from({ length: n }, (_, i) => [`echo${i + 1}`, echoManifest(`echo${i + 1}`)]));
  const d = await bootDaemon({ manifests, noConnect: true, config: { dataDir } });
  try {
    await d.connect(20_000);
    const socketMs = performance.now() - d.spawnedAt;
    const names = Object.keys(manifests);
    await waitFor(
      async () => {
        const list = await d.client.plugins.list();
        return names.every((name) => list.find((p) => p.name === name)?.state === "ready");
      },
      `${n} plugins ready`,
      60_000,
      10,
    );
    const readyMs = performance.now() - d.spawnedAt;
    return { readyMs, socketMs, rssMiB: rssBytes(d.pid) / 2 ** 20 };
  } finally {
    await d.stop();
  }
}

/** One more start of 10 plugins with --cpu-prof on the daemon: where its start-up time goes. */
async function profileStart(ctx: BenchContext, n: number): Promise<ProfileSummary[]> {
  const dir = mkdtempSync(join(tmpdir(), "bkg-bench-prof-"));
  const removeDir = onCleanup(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  try {
    ctx.log(`startup: profiling a start with ${n} plugins`);
    const manifests = Object.fromEntries(Array.from({ length: n }, (_, i) => [`echo${i + 1}`, echoManifest(`echo${i + 1}`)]));
    const d = await bootDaemon({ manifests, noConnect: true, nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=250"] });
    let readyUs = 0;
    try {
      await d.connect(20_000);
      await d.waitReady(Object.keys(manifests), 60_000);
      readyUs = monotonicMicros();
    } finally {
      await d.stop();
    }
    return profilesIn(dir)
      .filter((p) => p.pid === d.pid)
      .map((p) => summarizeProfile(p.profile, "daemon", `start with ${n} plugins, until all ready`, { fromUs: 0, toUs: readyUs }));
  } catch (e) {
    ctx.log(`startup: profiling failed: ${(e as Error).message}`);
    return [];
  } finally {
    await removeDir();
  }
}

async function bareStart(n: number): Promise<number> {
  const t0 = performance.now();
  const proc = spawnTracked(process.execPath, [join(BASELINES, "bare-start.js"), String(n)], { stdio: ["pipe", "pipe", "inherit"] });
  const out = tail(proc.stdout);
  try {
    await waitFor(
      () => {
        if (proc.exitCode !== null) throw new Error(`bare-start exited with ${proc.exitCode}`);
        return out().includes("ready");
      },
      `bare start of ${n}`,
      60_000,
      1,
    );
    return performance.now() - t0;
  } finally {
    proc.kill("SIGTERM");
    await exitWithin(proc, 3000);
  }
}
