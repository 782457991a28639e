/**
 * The daemon's control methods, one table shared by every gateway. Each takes plain params and
 * returns JSON, or throws a BkgError a person can act on.
 */
import { BkgError, ErrorCodes } from "@bkg/protocol";
import type { PluginHost } from "../supervisor/index.js";
import type { ControlMethod } from "./control-method.js";
import type { DaemonContext } from "./daemon-context.js";
import { MODEL_METHODS } from "./models-api.js";
import { audit, TELEMETRY_METHODS } from "./telemetry-api.js";
import { TRACE_METHODS } from "./traces-api.js";

type Params = Record<string, unknown>;
export type { ControlMethod };

function hostOf(ctx: DaemonContext, params: Params): PluginHost {
  const name = params?.name;
  if (typeof name !== "string" || !name) throw new BkgError(ErrorCodes.InvalidParams, "params.name (the plugin's name) is required");
  const host = ctx.supervisor.get(name);
  if (!host) {
    const known = ctx.supervisor.list().map((p) => p.name);
    throw new BkgError(ErrorCodes.MethodNotFound, `no plugin named "${name}"; known plugins: ${known.join(", ") || "(none)"}`);
  }
  return host;
}

const STARTED: ReadonlySet<string> = new Set(["ready", "idle"]);
const STOPPED: ReadonlySet<string> = new Set(["stopped"]);

/**
 * What a start, stop or reload came to. With `wait: true` the answer comes once the plugin has
 * settled (or after `timeoutMs`, default 60 s): `ok` says whether it reached what was asked, so the
 * CLI can exit non-zero on a failure instead of printing "starting".
 */
async function outcome(host: PluginHost, p: Params, wanted: ReadonlySet<string>) {
  const wait = p?.wait === true;
  const timeoutMs = typeof p?.timeoutMs === "number" && p.timeoutMs > 0 ? Math.min(p.timeoutMs, 600_000) : 60_000;
  const r = wait ? await host.settled(timeoutMs) : { settled: false, state: host.state, reason: host.reason };
  return { name: host.name, state: r.state, reason: r.reason, settled: r.settled, ok: wanted.has(r.state) };
}

export function status(ctx: DaemonContext) {
  const plugins = ctx.supervisor.list();
  const byState: Record<string, number> = {};
  for (const p of plugins) byState[p.state] = (byState[p.state] ?? 0) + 1;
  return {
    version: ctx.version,
    pid: process.pid,
    uptimeMs: Date.now() - ctx.startedAt,
    startedAt: new Date(ctx.startedAt).toISOString(),
    socketPath: ctx.config.socketPath,
    manifestsDir: ctx.config.manifestsDir,
    dataDir: ctx.config.dataDir,
    configFile: ctx.config.file ?? null,
    rssBytes: process.memoryUsage().rss,
    plugins: { total: plugins.length, byState },
    http: ctx.endpoints?.http ?? null,
    grpc: ctx.endpoints?.grpc ?? null,
  };
}

const BUILTIN_METHODS: Record<string, ControlMethod> = {
  ...TELEMETRY_METHODS,
  ...TRACE_METHODS,
  ...MODEL_METHODS,
  "bkg.status": (ctx) => status(ctx),
  "bkg.plugins.list": (ctx) => ctx.supervisor.list(),
  // The socket is the machine owner's (mode 0600): it may ask for the manifest's secrets.
  "bkg.plugins.info": (ctx, p) => ctx.supervisor.info(hostOf(ctx, p).name, { secrets: p.secrets === true }),
  "bkg.plugins.start": async (ctx, p, actor) => {
    const host = hostOf(ctx, p);
    host.start(`started by ${actor}`);
    audit(ctx, actor, "plugins.start", host.name);
    return outcome(host, p, STARTED);
  },
  "bkg.plugins.stop": async (ctx, p, actor) => {
    const host = hostOf(ctx, p);
    audit(ctx, actor, "plugins.stop", host.name);
    await host.stop(`stopped by ${actor}`);
    return outcome(host, p, STOPPED);
  },
  "bkg.plugins.restart": async (ctx, p, actor) => {
    const host = hostOf(ctx, p);
    audit(ctx, actor, "plugins.restart", host.name);
    await host.stop(`restarted by ${actor}`);
    host.start(`restarted by ${actor}`);
    return outcome(host, p, STARTED);
  },
  "bkg.plugins.reload": async (ctx, p, actor) => {
    const host = hostOf(ctx, p);
    const before = host.manifest.version;
    audit(ctx, actor, "plugins.reload", host.name);
    await host.reload(host.manifest, `reload requested by ${actor}`);
    const r = await outcome(host, p, STARTED);
    const failed = host.swapFailure && host.swapFailure.at >= Date.now() - 60_000 ? host.swapFailure : undefined;
    return { ...r, ok: r.ok && !failed, version: host.manifest.version, previous: before, ...(failed ? { swapFailure: failed.message } : {}) };
  },
  "bkg.plugins.logs": (ctx, p) => {
    const name = String(p?.name ?? "");
    if (!ctx.supervisor.list().some((x) => x.name === name)) hostOf(ctx, p);
    const limit = typeof p?.limit === "number" ? Math.max(1, Math.min(ctx.config.limits.logLines, p.limit)) : 200;
    return ctx.supervisor.logs(name, limit);
  },
};

/** Every control method by name, in a null-prototype object ("constructor" is not a member). */
export const CONTROL_METHODS: Record<string, ControlMethod> = Object.assign(Object.create(null) as Record<string, ControlMethod>, BUILTIN_METHODS);

/**
 * The control method a client named, if there is one. Client input never indexes a plain object:
 * "constructor" or "__proto__" would find Object.prototype's members.
 */
export function findControlMethod(name: string): ControlMethod | undefined {
  return Object.hasOwn(CONTROL_METHODS, name) ? CONTROL_METHODS[name] : undefined;
}
