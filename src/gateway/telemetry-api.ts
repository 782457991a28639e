/**
 * Control methods over telemetry, events and the cluster (merged into CONTROL_METHODS):
 *   bkg.events.query   {plugin?, since?, until?, kinds?, node?, limit?} -> StoredEvent[] (oldest first)
 *   bkg.telemetry.live {} -> LiveSnapshot (what `bkg top` shows)
 *   bkg.telemetry.stats {plugin?, since?, until?, node?} -> per-method and per-instance summaries
 *   bkg.telemetry.series {plugin?, since?, until?, node?} -> per-minute calls/s, errors, p99, RSS, CPU per plugin (default: the last 15 minutes)
 *   bkg.cluster.nodes  {} -> every daemon writing to the same store, this one first
 *   bkg.cluster.plugins {} -> every plugin of every node on the cluster bus, this node's first
 *   bkg.cluster.bus    {} -> this node's NATS connection and the nodes it hears from
 * `since`/`until` take epoch milliseconds, an ISO time, or a duration back from now ("90s",
 * "15m", "1h", "7d").
 */
import { BkgError, ErrorCodes } from "@bkg/protocol";
import { EVENT_KINDS, type EventKind, type Result } from "../store/index.js";
import type { Telemetry } from "../telemetry/index.js";
import type { ControlMethod } from "./control-method.js";
import type { DaemonContext } from "./daemon-context.js";

type Params = Record<string, unknown>;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A point in time from epoch ms, an ISO time or a duration back from `now`; undefined when absent. */
export function parseTime(name: string, v: unknown, now = Date.now()): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string") {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(v.trim());
    if (m) return now - Number(m[1]) * UNITS[m[2]];
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  throw new BkgError(ErrorCodes.InvalidParams, `${name} ${JSON.stringify(v)} is not a time: use a duration back from now (90s, 15m, 1h, 7d), an ISO time, or epoch milliseconds`);
}

function telemetryOf(ctx: DaemonContext): Telemetry {
  if (!ctx.telemetry) throw new BkgError(ErrorCodes.PluginUnavailable, "this daemon runs without a store, so it keeps no telemetry or events");
  return ctx.telemetry;
}

function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new BkgError(ErrorCodes.InternalError, `the telemetry store failed: ${r.error}`);
  return r.value;
}

function str(p: Params, name: string): string | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new BkgError(ErrorCodes.InvalidParams, `params.${name} must be a string`);
  return v;
}

function kindsOf(v: unknown): EventKind[] | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const list =
    typeof v === "string"
      ? v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : v;
  if (!Array.isArray(list) || list.some((k) => !EVENT_KINDS.includes(k as EventKind))) {
    throw new BkgError(ErrorCodes.InvalidParams, `params.kinds must be some of: ${EVENT_KINDS.join(", ")}`);
  }
  return list as EventKind[];
}

export const TELEMETRY_METHODS: Record<string, ControlMethod> = {
  "bkg.events.query": async (ctx, p) => {
    const limit = p.limit === undefined ? undefined : Number(p.limit);
    if (limit !== undefined && !(limit >= 1)) throw new BkgError(ErrorCodes.InvalidParams, "params.limit must be a number >= 1");
    return unwrap(
      await telemetryOf(ctx).events({ plugin: str(p, "plugin"), since: parseTime("since", p.since), until: parseTime("until", p.until), kinds: kindsOf(p.kinds), nodeId: str(p, "node"), limit }),
    );
  },
  "bkg.telemetry.live": (ctx) => telemetryOf(ctx).live(),
  "bkg.telemetry.stats": async (ctx, p) =>
    unwrap(await telemetryOf(ctx).stats({ plugin: str(p, "plugin"), since: parseTime("since", p.since) ?? Date.now() - 3_600_000, until: parseTime("until", p.until), nodeId: str(p, "node") })),
  "bkg.telemetry.series": async (ctx, p) =>
    unwrap(await telemetryOf(ctx).series({ plugin: str(p, "plugin"), since: parseTime("since", p.since) ?? Date.now() - 15 * 60_000, until: parseTime("until", p.until), nodeId: str(p, "node") })),
  "bkg.cluster.nodes": async (ctx) => unwrap(await telemetryOf(ctx).nodes()),
  "bkg.cluster.plugins": async (ctx) => clusterOf(ctx).plugins(),
  "bkg.cluster.bus": async (ctx) => clusterOf(ctx).status(),
};

function clusterOf(ctx: DaemonContext): NonNullable<DaemonContext["cluster"]> {
  if (!ctx.cluster) {
    throw new BkgError(ErrorCodes.InvalidRequest, "this daemon is not part of a cluster: set cluster.nats.servers in its config (docs/deploy.md)");
  }
  return ctx.cluster;
}

/**
 * Publishes an audit event (an operator action) on the event bus; telemetry stores it. `actor` is
 * who asked: actorOf(principal) on HTTP, "socket" on the unix socket; there is no default, so no
 * path can record a made-up one.
 */
export function audit(ctx: DaemonContext, actor: string, action: string, plugin?: string, detail?: Record<string, unknown>): void {
  ctx.bus.publish({ kind: "audit", ts: Date.now(), actor, action, plugin, detail });
}
