/**
 * Scenario 7: footprint. The daemon's RSS with 10 echo plugins, idle and under load (64 calls
 * in flight spread over the 10 plugins), beside pm2's God daemon RSS with 10 Node apps (the
 * peer: both are the supervising process, not the supervised ones). Plugin and app RSS are
 * shown too, summed.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootDaemon, echoManifest } from "./lib/daemon.js";
import { closedLoop } from "./lib/load.js";
import { BASELINES, ROOT } from "./lib/paths.js";
import { SMALL } from "./lib/payloads.js";
import { startPm2 } from "./lib/pm2.js";
import { descendants, onCleanup, residentFileBytes, rssAnonBytes, rssBytes, sleep, waitFor } from "./lib/procs.js";
import type { Row, Scenario } from "./lib/scenario.js";
import { connectRpc } from "./lib/socket-rpc.js";
import { summarize, type Summary } from "./lib/stats.js";

const N = 10;
const MiB = 2 ** 20;

/** Samples `fn` every `everyMs` while `during` runs (or for `ms` when it is a number). */
async function sampleWhile(fn: () => number, during: Promise<unknown> | number, everyMs = 100): Promise<number[]> {
  const out: number[] = [];
  if (typeof during === "number") {
    const until = performance.now() + during;
    while (performance.now() < until) {
      out.push(fn());
      await sleep(everyMs);
    }
    return out;
  }
  let done = false;
  void during.finally(() => (done = true));
  while (!done) {
    out.push(fn());
    await sleep(everyMs);
  }
  return out;
}

/**
 * RSS and heap of a fresh Node process (a CommonJS script) after loading `what`, if given, and a
 * full GC: with `import()`, through node's ES module loader, or with `require`.
 */
function nodeMemory(what: string, as: "import" | "require"): Promise<{ rss: number; heapUsed: number }> {
  const report = "() => { globalThis.gc(); setTimeout(() => { const m = process.memoryUsage(); process.stdout.write(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed })); }, 200); }";
  const code = !what ? `(${report})();` : as === "import" ? `import(${JSON.stringify(what)}).then(${report});` : `require(${JSON.stringify(what)}); (${report})();`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--expose-gc", "-e", code], { cwd: ROOT, timeout: 30_000 }, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout))));
  });
}

const NODE_BINARY = realpathSync(process.execPath);

/** Resident MiB of bkg's native modules (better-sqlite3's SQLite) and of node's own binary. */
function filePages(pid: number): { native: number; node: number } {
  const b = residentFileBytes(pid, { native: (p) => p.endsWith(".node"), node: (p) => p === NODE_BINARY });
  return { native: b.native / MiB, node: b.node / MiB };
}

export const scenario: Scenario = {
  name: "footprint",
  title: "7. Footprint",
  async run(ctx) {
    const settleMs = ctx.quick ? 500 : 3000;
    const loadMs = ctx.quick ? 1500 : 6000;
    const idleMs = ctx.quick ? 500 : 2000;
    const rows: Row[] = [];

    ctx.log(`footprint: bkg with ${N} echo plugins`);
    const manifests = Object.fromEntries(Array.from({ length: N }, (_, i) => [`echo${i + 1}`, echoManifest(`echo${i + 1}`)]));
    // The daemon measured is a restart, as its usual start is: a first start fills the data
    // folder (the store, the plugins' compiled paramsSchemas) and stops.
    const dataDir = mkdtempSync(join(tmpdir(), "bkg-bench-fp-"));
    const removeDataDir = onCleanup(`remove ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true }));
    const firstStart = await bootDaemon({ manifests, config: { dataDir } });
    await firstStart.waitReady(Object.keys(manifests));
    await firstStart.stop();
    const d = await bootDaemon({ manifests, config: { dataDir } });
    let bkgIdle: Summary;
    let bkgAnon: Summary;
    let bkgPages: { native: number; node: number };
    try {
      const names = Object.keys(manifests);
      await d.waitReady(names);
      await sleep(settleMs);
      const pluginRss = () => descendants(d.pid).reduce((s, p) => s + rssBytes(p), 0) / MiB;
      bkgIdle = summarize(await sampleWhile(() => rssBytes(d.pid) / MiB, idleMs));
      bkgAnon = summarize(await sampleWhile(() => rssAnonBytes(d.pid) / MiB, idleMs / 2));
      bkgPages = filePages(d.pid);
      const pluginsIdle = summarize([pluginRss()]);
      let k = 0;
      const load = closedLoop(() => d.client.call(`${names[k++ % N]}.echo`, SMALL), { inflight: 64, durationMs: loadMs, maxCalls: 5_000_000 });
      const busy = await sampleWhile(() => rssBytes(d.pid) / MiB, load);
      const r = await load;
      const pluginsBusy = summarize([pluginRss()]);
      rows.push({
        case: `${N} plugins, idle`,
        subject: "bkg daemon",
        metrics: [
          { label: "RSS MiB", summary: bkgIdle, digits: 1 },
          { label: "private (RssAnon) MiB", summary: bkgAnon, digits: 1 },
          { label: "node binary's pages MiB", summary: summarize([bkgPages.node]), digits: 1 },
          { label: "native modules' pages MiB", summary: summarize([bkgPages.native]), digits: 1 },
          { label: "plugins' RSS MiB (sum)", summary: pluginsIdle, digits: 0 },
        ],
      });
      rows.push({
        case: `${N} plugins, 64 in flight`,
        subject: "bkg daemon",
        metrics: [
          { label: "RSS MiB", summary: summarize(busy), digits: 1 },
          { label: "plugins' RSS MiB (sum)", summary: pluginsBusy, digits: 0 },
          { label: "calls/s", summary: summarize([r.callsPerSec]) },
        ],
      });
    } finally {
      await d.stop();
      await removeDataDir();
    }

    ctx.log(`footprint: pm2 with ${N} apps`);
    const pm2 = await startPm2();
    const dir = mkdtempSync(join(tmpdir(), "bkg-bench-fp-"));
    onCleanup(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    let godIdle: Summary;
    let godAnon: Summary;
    let godPages: { native: number; node: number };
    try {
      const socks = Array.from({ length: N }, (_, i) => join(dir, `app${i + 1}.sock`));
      await pm2.start(socks.map((s, i) => ({ name: `app${i + 1}`, script: join(BASELINES, "socket-echo-app.js"), args: [s], exec_mode: "fork", pmx: false, vizion: false, automation: false })));
      for (const s of socks)
        await waitFor(
          () =>
            connectRpc(s).then(
              (c) => (c.close(), true),
              () => false,
            ),
          "pm2 apps to listen",
          20_000,
        );
      await sleep(settleMs);
      godIdle = summarize(await sampleWhile(() => pm2.godRss() / MiB, idleMs));
      godAnon = summarize(await sampleWhile(() => rssAnonBytes(pm2.godPid() ?? 0) / MiB, idleMs / 2));
      godPages = filePages(pm2.godPid() ?? 0);
      const apps = await pm2.list();
      const appsRss = apps.reduce((s, a) => s + rssBytes(a.pid), 0) / MiB;
      rows.push({
        case: `${N} apps, idle`,
        subject: "pm2 God daemon",
        metrics: [
          { label: "RSS MiB", summary: godIdle, digits: 1 },
          { label: "private (RssAnon) MiB", summary: godAnon, digits: 1 },
          { label: "node binary's pages MiB", summary: summarize([godPages.node]), digits: 1 },
          { label: "native modules' pages MiB", summary: summarize([godPages.native]), digits: 1 },
          { label: "plugins' RSS MiB (sum)", summary: summarize([appsRss]), digits: 0 },
        ],
      });
    } finally {
      await pm2.kill();
    }
    // Where the daemon's RSS comes from: Node itself, its module loaders (bkg's modules are ES
    // modules, pm2's CommonJS: one empty file of each), then the daemon's modules.
    const emptyDir = mkdtempSync(join(tmpdir(), "bkg-bench-fp-"));
    onCleanup(`remove ${emptyDir}`, () => rmSync(emptyDir, { recursive: true, force: true }));
    writeFileSync(join(emptyDir, "empty.cjs"), "");
    writeFileSync(join(emptyDir, "empty.mjs"), "");
    const emptyCjs = "node + require an empty CommonJS file";
    const emptyEsm = "node + import an empty ES module file";
    const refs: [string, string, "import" | "require"][] = [
      ["node, empty", "", "require"],
      [emptyCjs, join(emptyDir, "empty.cjs"), "require"],
      [emptyEsm, pathToFileURL(join(emptyDir, "empty.mjs")).href, "import"],
      ["node + import dist/daemon.js", pathToFileURL(join(ROOT, "dist", "daemon.js")).href, "import"],
    ];
    // Each of the daemon's heavier dependencies alone (they overlap: the first package a process
    // loads pays for the module loader too). fastify loads only when HTTP is on.
    if (!ctx.quick) for (const pkg of ["ajv", "pino", "better-sqlite3", "chokidar", "fastify"]) refs.push([`node + import ${pkg}`, pkg, "import"]);
    const refRss = new Map<string, number>();
    for (const [subject, what, as] of refs) {
      const m = await nodeMemory(what, as);
      refRss.set(subject, m.rss / MiB);
      rows.push({
        case: "for reference, no plugins",
        subject,
        metrics: [
          { label: "RSS MiB", summary: summarize([m.rss / MiB]), digits: 1 },
          { label: "heap used MiB", summary: summarize([m.heapUsed / MiB]), digits: 1 },
        ],
      });
    }
    rows[0].vs = `${(bkgIdle.median / godIdle.median).toFixed(2)}x pm2 God daemon`;
    const met = bkgIdle.median <= godIdle.median;
    // What two of bkg's fixed choices cost, each measured here: the embedded store's SQLite
    // module (its pages in the daemon; pm2 keeps no store) and node's ES module loader.
    const sqlitePages = bkgPages.native - godPages.native;
    const esmLoader = (refRss.get(emptyEsm) ?? 0) - (refRss.get(emptyCjs) ?? 0);
    const adjusted = bkgIdle.median - sqlitePages - esmLoader;
    const adjustedMet = adjusted <= godIdle.median;
    return {
      available: true,
      rows,
      targets: [
        {
          target: "daemon RSS with 10 idle plugins at most pm2's God daemon's",
          met,
          detail: `bkg ${bkgIdle.median.toFixed(1)} MiB vs pm2 ${godIdle.median.toFixed(1)} MiB${met ? "" : `; gap ${(bkgIdle.median - godIdle.median).toFixed(1)} MiB`}`,
        },
        {
          target: "(proposed) daemon RSS with 10 idle plugins, less the SQLite module's pages and node's ES module loader, at most pm2's God daemon's",
          met: adjustedMet,
          detail: `bkg ${bkgIdle.median.toFixed(1)} - ${sqlitePages.toFixed(1)} (SQLite module) - ${esmLoader.toFixed(1)} (ES module loader) = ${adjusted.toFixed(1)} MiB vs pm2 ${godIdle.median.toFixed(1)} MiB${adjustedMet ? "" : `; gap ${(adjusted - godIdle.median).toFixed(1)} MiB`}: what bkg's own code and state cost beyond what its embedded store and its ES modules make it load`,
        },
      ],
      notes: [
        `RSS from /proc/<pid>/status (VmRSS; private memory is its RssAnon line, sampled for half the idle time after it), sampled every 100 ms: idle for ${idleMs} ms after ${settleMs} ms of settling, and through ${loadMs} ms of load. Cells: median (min–max) of the samples.`,
        "pm2's apps are plain vscode-jsonrpc socket servers, bkg's plugins are the TypeScript echo plugin; the supervised processes are shown for context, the target compares the supervisors.",
        "The bkg daemon measured is a restart on a data folder a first start filled (its store, the plugins' compiled paramsSchemas), as most starts are; a first start also loads ajv to compile the paramsSchemas (about 6 MiB more).",
        "For reference: a fresh Node process, empty and after importing the daemon's modules (no daemon started), each after a full GC: what Node and the module graph cost before any plugin runs.",
        "Pages: the resident part of the files each supervisor maps, from /proc/<pid>/smaps after the idle samples: node's binary, and native modules (bkg: better-sqlite3's SQLite, for the embedded store; pm2: none).",
      ],
    };
  },
};
