/**
 * HTTP calls to two or more built checkouts, paired and interleaved (issue 19): one gateway per
 * checkout (daemon, echo and apikeys plugins from that checkout, as bench/lib/gateway.ts boots
 * them), then rounds in which every gateway takes the same autocannon load in turn, the order
 * rotating each round. Prints per round and as medians: req/s, daemon CPU µs per request, all
 * three processes' CPU µs per request, and each checkout's per-round ratio to the first. With
 * --conns 1 it also measures the p50 of one keep-alive connection from our own client.
 *
 *   git worktree add --detach /work/wt/old <commit> && (cd /work/wt/old && cp -al <this>/node_modules . && npx tsc -b)
 *   npx tsc -b && npx tsc -p bench/tsconfig.json
 *   node bench/dist/tools/http-paired.js [--conns 64] [--runs 8] [--seconds 3] [--prof DIR] . /work/wt/old
 *   node bench/dist/tools/http-paired.js . .::--max-semi-space-size=16   # the same checkout, a daemon flag apart
 *   node bench/dist/tools/http-paired.js . '.::::{"telemetry":{"tracing":{"enabled":false}}}'   # a config apart
 *
 * --prof DIR starts every daemon with --cpu-prof into DIR/<n>/ (the profile is written when the
 * daemon stops; it covers the whole run, warm-up included). --keep-logs DIR keeps each daemon's
 * log as DIR/daemon-<n>.log (with a "::--trace-gc" subject: its collections).
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { Agent } from "node:http";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { cannon } from "../lib/autocannon.js";
import { bootGateway, type Gateway } from "../lib/gateway.js";
import { post } from "../lib/http-client.js";
import { closedLoop } from "../lib/load.js";
import { SMALL } from "../lib/payloads.js";
import { cpuProfArgs } from "../lib/profile-daemon.js";
import { cleanupAll } from "../lib/procs.js";
import { median } from "../lib/stats.js";
import { argValue as opt, positionalArgs } from "../lib/argv.js";

const CONNS = Number(opt("--conns") ?? 64);
const RUNS = Number(opt("--runs") ?? 8);
const SECONDS = Number(opt("--seconds") ?? 3);
const PROF = opt("--prof");
const WARMUP = Number(opt("--warmup") ?? 6);
/** Copies each daemon's log (its stdout and stderr: --trace-gc lands there) into this folder before it stops. */
const KEEP_LOGS = opt("--keep-logs");
/**
 * Each subject: a checkout, optionally with node flags for its daemon after "::" (comma-separated),
 * and after a second "::" a JSON object merged into the daemon's config.
 */
const subjects = positionalArgs(["--conns", "--runs", "--seconds", "--prof", "--warmup", "--keep-logs"]);
if (subjects.length === 0) subjects.push(".");
const parts = subjects.map((s) => s.split("::"));
const roots = parts.map((p) => resolve(p[0]));
const flagsOf = parts.map((p) => (p[1] ? p[1].split(",") : []));
const configOf = parts.map((p) => (p[2] ? (JSON.parse(p.slice(2).join("::")) as Record<string, unknown>) : {}));

interface Sample {
  reqPerSec: number;
  daemonUs: number;
  allUs: number;
  p50Us?: number;
}

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

async function main(): Promise<void> {
  const gws: Gateway[] = [];
  for (const [i, root] of roots.entries()) {
    let nodeArgs: string[] = flagsOf[i];
    if (PROF) {
      const dir = resolve(PROF, String(i));
      mkdirSync(dir, { recursive: true });
      nodeArgs = [...nodeArgs, ...cpuProfArgs(dir)];
    }
    const gw = await bootGateway(configOf[i], nodeArgs, root);
    if ("unavailable" in gw) throw new Error(`${root}: ${gw.unavailable}`);
    gws.push(gw);
  }
  const body = JSON.stringify(SMALL);
  const headersOf = (g: Gateway) => ({ "content-type": "application/json", authorization: `Bearer ${g.key}` });
  const urlOf = (g: Gateway) => `${g.baseUrl}/api/call/echo/echo`;
  console.log(`load before: ${load()}`);
  // Warm-up, unmeasured: long enough for V8 to optimise the hot path (a first 64-connection run is slow).
  for (const g of gws) await cannon({ url: urlOf(g), method: "POST", body, headers: headersOf(g), connections: 64, duration: WARMUP });
  const samples: Sample[][] = gws.map(() => []);
  for (let r = 0; r < RUNS; r++) {
    for (let j = 0; j < gws.length; j++) {
      const k = (r + j) % gws.length;
      const g = gws[k];
      const c = await cannon({ url: urlOf(g), method: "POST", body, headers: headersOf(g), connections: CONNS, duration: SECONDS, pids: g.pids });
      const s: Sample = { reqPerSec: c.reqPerSec, daemonUs: c.cpuByRole.daemon, allUs: Object.values(c.cpuByRole).reduce((a, b) => a + b, 0) };
      if (CONNS === 1) {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        const url = new URL(urlOf(g));
        const h = headersOf(g);
        s.p50Us = (await closedLoop(() => post(agent, url, h, body), { inflight: 1, durationMs: SECONDS * 500, warmupMs: 100, maxCalls: 200_000 })).p50Us;
        agent.destroy();
      }
      samples[k].push(s);
      if (c.non2xx + c.errors > 0) console.log(`  ${roots[k]}: ${c.non2xx} non-2xx, ${c.errors} errors`);
    }
    const row = gws.map((_, k) => {
      const s = samples[k][r];
      return `${s.reqPerSec.toFixed(0)} req/s daemon ${s.daemonUs.toFixed(1)} all ${s.allUs.toFixed(1)} µs${s.p50Us === undefined ? "" : ` p50 ${s.p50Us.toFixed(0)} µs`}`;
    });
    console.log(`round ${r + 1}: ${row.join(" | ")}  (load ${load()})`);
  }
  console.log(`load after: ${load()}`);
  const field = (k: number, f: keyof Sample) => samples[k].map((s) => s[f] ?? NaN);
  for (const [k, root] of subjects.entries()) {
    const ratios = (f: keyof Sample) => median(field(k, f).map((x, i) => x / field(0, f)[i])).toFixed(3);
    console.log(
      `${root}: req/s ${median(field(k, "reqPerSec")).toFixed(0)} (x${ratios("reqPerSec")}), daemon µs/req ${median(field(k, "daemonUs")).toFixed(1)} (x${ratios("daemonUs")}), all ${median(field(k, "allUs")).toFixed(1)} (x${ratios("allUs")})${CONNS === 1 ? `, p50 ${median(field(k, "p50Us")).toFixed(0)} µs (x${ratios("p50Us")})` : ""}`,
    );
  }
  for (const [k, g] of gws.entries()) {
    if (KEEP_LOGS) {
      mkdirSync(KEEP_LOGS, { recursive: true });
      copyFileSync(join(g.daemon.dir, "daemon.log"), join(KEEP_LOGS, `daemon-${k}.log`));
    }
    await g.daemon.stop();
  }
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
