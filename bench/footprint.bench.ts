/**
 * Scenario 7: footprint. The daemon's RSS with 10 echo plugins, idle and under load (64 calls
 * in flight spread over the 10 plugins), beside pm2's God daemon RSS with 10 Node apps (the
 * peer: both are the supervising process, not the supervised ones). Plugin and app RSS are
 * shown too, summed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootDaemon, echoManifest } from "./lib/daemon.js";
import { closedLoop } from "./lib/load.js";
import { BASELINES } from "./lib/paths.js";
import { SMALL } from "./lib/payloads.js";
import { startPm2 } from "./lib/pm2.js";
import { descendants, onCleanup, rssBytes, sleep, waitFor } from "./lib/procs.js";
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

export const scenario: Scenario = {
  name: "footprint",
  title: "7. Footprint",
  async run(ctx) {
    const settleMs = ctx.quick ? 1000 : 3000;
    const loadMs = ctx.quick ? 2000 : 6000;
    const rows: Row[] = [];

    ctx.log(`footprint: bkg with ${N} echo plugins`);
    const manifests = Object.fromEntries(Array.from({ length: N }, (_, i) => [`echo${i + 1}`, echoManifest(`echo${i + 1}`)]));
    const d = await bootDaemon({ manifests });
    let bkgIdle: Summary;
    try {
      const names = Object.keys(manifests);
      await d.waitReady(names);
      await sleep(settleMs);
      const pluginRss = () => descendants(d.pid).reduce((s, p) => s + rssBytes(p), 0) / MiB;
      bkgIdle = summarize(await sampleWhile(() => rssBytes(d.pid) / MiB, 1000));
      const pluginsIdle = summarize([pluginRss()]);
      let k = 0;
      const load = closedLoop(() => d.client.call(`${names[k++ % N]}.echo`, SMALL), { inflight: 64, durationMs: loadMs, maxCalls: 5_000_000 });
      const busy = await sampleWhile(() => rssBytes(d.pid) / MiB, load);
      const r = await load;
      const pluginsBusy = summarize([pluginRss()]);
      rows.push({ case: `${N} plugins, idle`, subject: "bkg daemon", metrics: [{ label: "RSS MiB", summary: bkgIdle, digits: 1 }, { label: "plugins' RSS MiB (sum)", summary: pluginsIdle, digits: 0 }] });
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
    }

    ctx.log(`footprint: pm2 with ${N} apps`);
    const pm2 = await startPm2();
    const dir = mkdtempSync(join(tmpdir(), "bkg-bench-fp-"));
    onCleanup(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    let godIdle: Summary;
    try {
      const socks = Array.from({ length: N }, (_, i) => join(dir, `app${i + 1}.sock`));
      await pm2.start(socks.map((s, i) => ({ name: `app${i + 1}`, script: join(BASELINES, "socket-echo-app.js"), args: [s], exec_mode: "fork", pmx: false, vizion: false, automation: false })));
      for (const s of socks) await waitFor(() => connectRpc(s).then((c) => (c.close(), true), () => false), "pm2 apps to listen", 20_000);
      await sleep(settleMs);
      godIdle = summarize(await sampleWhile(() => pm2.godRss() / MiB, 1000));
      const apps = await pm2.list();
      const appsRss = apps.reduce((s, a) => s + rssBytes(a.pid), 0) / MiB;
      rows.push({ case: `${N} apps, idle`, subject: "pm2 God daemon", metrics: [{ label: "RSS MiB", summary: godIdle, digits: 1 }, { label: "plugins' RSS MiB (sum)", summary: summarize([appsRss]), digits: 0 }] });
    } finally {
      await pm2.kill();
    }
    rows[0].vs = `${(bkgIdle.median / godIdle.median).toFixed(2)}x pm2 God daemon`;
    const met = bkgIdle.median <= godIdle.median;
    return {
      available: true,
      rows,
      targets: [
        {
          target: "daemon RSS with 10 idle plugins at most pm2's God daemon's",
          met,
          detail: `bkg ${bkgIdle.median.toFixed(1)} MiB vs pm2 ${godIdle.median.toFixed(1)} MiB${met ? "" : `; gap ${(bkgIdle.median - godIdle.median).toFixed(1)} MiB`}`,
        },
      ],
      notes: [
        `RSS from /proc/<pid>/status (VmRSS), sampled every 100 ms: idle for 1 s after ${settleMs} ms of settling, and through ${loadMs} ms of load. Cells: median (min–max) of the samples.`,
        "pm2's apps are plain vscode-jsonrpc socket servers, bkg's plugins are the TypeScript echo plugin; the supervised processes are shown for context, the target compares the supervisors.",
      ],
    };
  },
};
