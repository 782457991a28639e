/**
 * Scenario 8: what features cost. Telemetry on vs off (socket calls, 64 in flight, two daemons
 * side by side, runs interleaved), and the auth cache (HTTP, 64 connections: API keys with
 * auth.cacheTtlMs default vs 0, and the root token as the no-plugin floor). Each part says
 * "not available yet" on its own when the daemon lacks the switch.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bootGateway, type Gateway } from "./lib/gateway.js";
import { cannon, type CannonResult } from "./lib/autocannon.js";
import { costDetail, costVs, measureConfigs, socketLoadRow } from "./lib/config-cost.js";
import { interleaved } from "./lib/load.js";
import { ROOT } from "./lib/paths.js";
import { SMALL } from "./lib/payloads.js";
import type { BenchContext, Row, Scenario, TargetCheck } from "./lib/scenario.js";
import { summarize } from "./lib/stats.js";

/** Does schemas/bkg-config.schema.json have this property path (e.g. ["telemetry", "enabled"])? */
function configHas(path: string[]): boolean {
  try {
    let node = JSON.parse(readFileSync(join(ROOT, "schemas", "bkg-config.schema.json"), "utf8")) as { properties?: Record<string, unknown> };
    for (const key of path) {
      const next = node.properties?.[key] as typeof node | undefined;
      if (!next) return false;
      node = next;
    }
    return true;
  } catch {
    return false;
  }
}

/** Connections (and API keys) in the auth-cache comparison. */
const CONNS = 64;

interface Part {
  rows: Row[];
  targets: TargetCheck[];
  notes: string[];
}

async function telemetryCost(ctx: BenchContext): Promise<Part> {
  const target = "telemetry costs under 3% of throughput";
  if (!configHas(["telemetry", "enabled"])) {
    return { rows: [], targets: [{ target, met: null, detail: "not available yet: the daemon's config has no telemetry.enabled switch (issue 5)" }], notes: [] };
  }
  const { res, runs, durationMs } = await measureConfigs(
    ctx,
    [
      { name: "telemetry on", config: { telemetry: { enabled: true } } },
      { name: "telemetry off", config: { telemetry: { enabled: false } } },
    ],
    "telemetry",
  );
  const v = costVs(res, "telemetry on", "telemetry off");
  return {
    rows: [socketLoadRow("telemetry on", res.get("telemetry on")!, v), socketLoadRow("telemetry off", res.get("telemetry off")!)],
    targets: [{ target, met: v.cost < 3, detail: costDetail(v, 3, "on/off") }],
    notes: [
      `Telemetry: two daemons side by side (telemetry.enabled true / false), ${runs} interleaved runs of ${durationMs} ms; ratios are medians of per-run ratios. The verdict uses CPU per call (client + daemon + plugin): with both cores busy, throughput is its inverse, and it is far steadier than calls/s on a shared machine.`,
    ],
  };
}

async function authCacheCost(ctx: BenchContext): Promise<Part> {
  const target = "auth cache keeps authenticated HTTP within 5% of auth off";
  if (!configHas(["auth", "cacheTtlMs"])) {
    return { rows: [], targets: [{ target, met: null, detail: "not available yet: the daemon's config has no auth.cacheTtlMs (issue 4)" }], notes: [] };
  }
  const gws: Gateway[] = [];
  try {
    const cached = await bootGateway();
    if ("unavailable" in cached) return { rows: [], targets: [{ target, met: null, detail: `not available yet: ${cached.unavailable}` }], notes: [] };
    gws.push(cached);
    const uncached = await bootGateway({ auth: { cacheTtlMs: 0 } });
    if ("unavailable" in uncached) return { rows: [], targets: [{ target, met: null, detail: `not available yet: ${uncached.unavailable}` }], notes: [] };
    gws.push(uncached);
    const body = JSON.stringify(SMALL);
    // The floor: the root token is checked inside the daemon (a constant-time compare, no
    // plugin, no cache). /api/call has no unauthenticated mode, so this is the nearest thing
    // to "auth off" a request can have.
    const root = readFileSync(join(cached.daemon.dir, "data", "root.token"), "utf8").trim();
    const subjects = [
      { name: "auth cache on (default TTL)", gw: cached, keys: [] as string[] },
      { name: "auth cache off (cacheTtlMs 0)", gw: uncached, keys: [] as string[] },
      { name: "root token (no auth plugin)", gw: cached, keys: Array.from({ length: CONNS }, () => root) },
    ];
    for (const s of subjects.slice(0, 2)) {
      for (let i = 0; i < CONNS; i++) {
        const k = await s.gw.daemon.client.call<{ key: string }>("apikeys.auth.createKey", { name: `bench-${i}`, role: "operator", scopes: ["echo.*"] });
        s.keys.push(k.key);
      }
    }
    // Each request takes the next key in turn: 64 requests in flight carry (nearly) 64 different keys.
    const run = (s: (typeof subjects)[number], duration: number) => {
      let next = 0;
      return cannon({
        url: `${s.gw.baseUrl}/api/call/echo/echo`,
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
        setupRequest: (req) => ({ ...req, headers: { ...req.headers, "content-type": "application/json", authorization: `Bearer ${s.keys[next++ % CONNS]}` } }),
        connections: CONNS,
        duration,
        pids: s.gw.pids,
      });
    };
    const duration = ctx.quick ? 1 : 3; // autocannon stops on whole seconds
    if (!ctx.quick) for (const s of subjects) await run(s, 1);
    const runs = ctx.quick ? 2 : ctx.runs;
    const res = await interleaved(subjects, runs, (s) => run(s, duration));
    const cpuOf = (c: CannonResult) => Object.values(c.cpuByRole).reduce((x, y) => x + y, 0);
    const on = res.get(subjects[0].name)!;
    const off = res.get(subjects[1].name)!;
    const floor = res.get(subjects[2].name)!;
    const ratios = summarize(on.map((x, i) => x.reqPerSec / off[i].reqPerSec));
    const cpuRatios = summarize(on.map((x, i) => cpuOf(x) / cpuOf(off[i])));
    const vsFloor = summarize(on.map((x, i) => x.reqPerSec / floor[i].reqPerSec));
    return {
      rows: subjects.map((s, i) => ({
        case: `HTTP, ${CONNS} connections, ${CONNS} API keys in turn`,
        subject: s.name,
        metrics: [
          { label: "req/s", summary: summarize(res.get(s.name)!.map((c) => c.reqPerSec)) },
          { label: "p50 ms (autocannon)", summary: summarize(res.get(s.name)!.map((c) => c.p50Ms)) },
          { label: "server CPU µs/req (all)", summary: summarize(res.get(s.name)!.map(cpuOf)) },
          { label: "CPU µs/req (apikeys plugin)", summary: summarize(res.get(s.name)!.map((c) => c.cpuByRole.auth ?? NaN)), digits: 1 },
        ],
        vs: i === 0 ? `req/s ${vsFloor.median.toFixed(2)}x root token, ${ratios.median.toFixed(2)}x cache off; server CPU/req ${cpuRatios.median.toFixed(2)}x cache off` : undefined,
      })),
      targets: [
        {
          target,
          met: vsFloor.median >= 0.95,
          detail: `API keys through the cache ${vsFloor.median.toFixed(2)}x the req/s of the root token (runs ${vsFloor.min.toFixed(2)}–${vsFloor.max.toFixed(2)}; /api/call has no unauthenticated mode, so the root token, checked in the daemon without the auth plugin, stands for "auth off"); cache on vs off: req/s ${ratios.median.toFixed(2)}x (runs ${ratios.min.toFixed(2)}–${ratios.max.toFixed(2)}), server CPU per request ${cpuRatios.median.toFixed(2)}x (runs ${cpuRatios.min.toFixed(2)}–${cpuRatios.max.toFixed(2)})`,
        },
      ],
      notes: [
        `Auth cache: two daemons (auth.cacheTtlMs default vs 0; the root-token subject uses the first), autocannon with ${CONNS} connections, each request carrying the next of ${CONNS} API keys (with one key, requests in flight would share one validation even with the cache off), ${runs} interleaved runs of ${duration} s, rate limits off. Server CPU: daemon + echo plugin + apikeys plugin.`,
      ],
    };
  } finally {
    for (const g of gws) await g.daemon.stop();
  }
}

export const scenario: Scenario = {
  name: "costs",
  title: "8. Costs: telemetry, auth cache",
  async run(ctx) {
    const a = await telemetryCost(ctx);
    ctx.log("costs: telemetry done");
    const b = await authCacheCost(ctx);
    const parts = [a, b];
    const available = parts.some((p) => p.rows.length > 0);
    return {
      available,
      reason: available ? undefined : parts.flatMap((p) => p.targets.map((t) => t.detail)).join("; "),
      rows: parts.flatMap((p) => p.rows),
      targets: parts.flatMap((p) => p.targets),
      notes: parts.flatMap((p) => p.notes),
    };
  },
};
