/**
 * Scenario 9: what serving the web dashboard costs the daemon. The same daemon (one echo plugin,
 * HTTP on) started with `http.dashboard` true and false, alternating: time from spawn to HTTP
 * answering and to echo ready, RSS once ready, and RSS after a browser's worth of dashboard
 * requests (index.html and every bundle it names; 404s when the dashboard is off).
 */
import { createServer } from "node:net";
import { once } from "node:events";
import { bootDaemon, echoManifest } from "./lib/daemon.js";
import { rssBytes, sleep, waitFor } from "./lib/procs.js";
import type { Row, Scenario } from "./lib/scenario.js";
import { ratio, summarize } from "./lib/stats.js";

async function freePort(): Promise<number> {
  const s = createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, "close");
  return port;
}

interface Sample {
  httpMs: number;
  readyMs: number;
  rssMiB: number;
  servedRssMiB: number;
  servedKiB: number;
}

async function start(dashboard: boolean): Promise<Sample> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const d = await bootDaemon({ manifests: { echo: echoManifest() }, noConnect: true, config: { http: { enabled: true, port, dashboard, accessLog: false } } });
  try {
    await waitFor(
      async () => {
        if (d.proc.exitCode !== null) throw new Error(`the daemon exited (code ${d.proc.exitCode}):\n${d.output()}`);
        return (await fetch(`${base}/health`).catch(() => null))?.ok === true;
      },
      "HTTP up",
      60_000,
      5,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${d.output()}`);
    });
    const httpMs = performance.now() - d.spawnedAt;
    await d.connect(60_000);
    await d.waitReady(["echo"], 60_000);
    const readyMs = performance.now() - d.spawnedAt;
    await sleep(300);
    const rssMiB = rssBytes(d.pid) / 2 ** 20;
    // What a browser loads: the page, then every script and stylesheet it names, three times over.
    let served = 0;
    for (let i = 0; i < 3; i++) {
      const index = await fetch(`${base}/plugins/echo`);
      const html = await index.text();
      served += html.length;
      const assets = [...html.matchAll(/(?:src|href)="([^"]+\.(?:js|css|svg))"/g)].map((m) => m[1]);
      for (const a of assets.length ? assets : ["/main.js"]) served += (await (await fetch(new URL(a, `${base}/`))).arrayBuffer()).byteLength;
    }
    await sleep(300);
    return { httpMs, readyMs, rssMiB, servedRssMiB: rssBytes(d.pid) / 2 ** 20, servedKiB: served / 1024 };
  } finally {
    await d.stop();
  }
}

export const scenario: Scenario = {
  name: "dashboard",
  title: "9. Serving the dashboard",
  async run(ctx) {
    const runs = ctx.quick ? 3 : ctx.runs;
    const on: Sample[] = [];
    const off: Sample[] = [];
    for (let r = 0; r < runs; r++) {
      off.push(await start(false));
      on.push(await start(true));
    }
    const rows: Row[] = [];
    const pick = (s: Sample[], k: keyof Sample) => summarize(s.map((x) => x[k]));
    for (const [subject, s] of [
      ["http.dashboard: true", on],
      ["http.dashboard: false", off],
    ] as const) {
      rows.push({
        case: "1 echo plugin, HTTP on",
        subject,
        metrics: [
          { label: "HTTP up ms", summary: pick(s, "httpMs") },
          { label: "ready ms", summary: pick(s, "readyMs") },
          { label: "RSS MiB", summary: pick(s, "rssMiB"), digits: 1 },
          { label: "RSS after loads MiB", summary: pick(s, "servedRssMiB"), digits: 1 },
          { label: "KiB served", summary: pick(s, "servedKiB") },
        ],
        vs: s === on ? `${ratio(pick(on, "readyMs"), pick(off, "readyMs")).toFixed(2)}x ready, ${ratio(pick(on, "rssMiB"), pick(off, "rssMiB")).toFixed(2)}x RSS of dashboard off` : undefined,
      });
    }
    ctx.log("dashboard: done");
    return {
      available: true,
      rows,
      targets: [],
      notes: [
        `${runs} starts each, off and on alternating. "RSS after loads": after the page and its bundles were fetched three times (with the dashboard off those requests are 404s).`,
        "The files are read from disk per request by @fastify/static (nothing is held in memory), so the daemon's RSS should not grow with the bundle size.",
      ],
    };
  },
};
