/**
 * Builds the control surface: the authenticator (and root token), the shared rate limiter, the
 * metrics registry, then the HTTP server (with the WebSocket hub) and the gRPC server as the
 * config enables them. The daemon calls `startControlSurface` after its socket listens and
 * `close` first when it stops. Bound addresses go into ctx.endpoints (bkg.status shows them).
 */
import type { Authenticator } from "../auth/index.js";
import type { DaemonContext } from "./daemon-context.js";
import type { GrpcServer } from "./grpc-server.js";
import type { HttpServer } from "./http-server.js";
import type { Metrics, PluginUsage, UsageSource } from "./metrics.js";
import { basicTelemetry, type TelemetrySource } from "./telemetry-source.js";

export interface ControlSurfaceOptions {
  /** Telemetry for the HTTP/WS routes; default: the context's telemetry engine, else basicTelemetry (supervisor + call totals). */
  telemetry?: TelemetrySource;
  /** Per-plugin RSS/CPU for /metrics; default: the context's telemetry engine, if any. */
  usage?: UsageSource;
}

export interface ControlSurface {
  /** Absent when neither HTTP nor gRPC is enabled (nothing would serve it). */
  metrics?: Metrics;
  auth?: Authenticator;
  http?: HttpServer;
  grpc?: GrpcServer;
  close(): Promise<void>;
}

/** The telemetry engine, when the context carries one (src/telemetry): its live view and process usage. */
interface TelemetryEngine {
  source?: TelemetrySource;
  usage?(): PluginUsage[];
}

export async function startControlSurface(ctx: DaemonContext, options: ControlSurfaceOptions = {}): Promise<ControlSurface> {
  const { http: httpCfg, grpc: grpcCfg } = ctx.config;
  if (!httpCfg.enabled && !grpcCfg.enabled) return { close: async () => undefined };
  // Loaded only when a gateway is on: fastify, ws, grpc-js and prom-client cost ~0.5 s of start-up,
  // and a daemon with neither does not keep the authenticator and the rate limiter in memory.
  const [{ Metrics, fanOut }, { Authenticator }, { RateLimiter }] = await Promise.all([import("./metrics.js"), import("../auth/index.js"), import("./rate-limiter.js")]);
  const engine = (ctx as { telemetry?: TelemetryEngine }).telemetry;
  const metrics = new Metrics(ctx.supervisor, ctx.version);
  const usage = options.usage ?? (engine?.usage ? () => engine.usage!() : undefined);
  if (usage) metrics.setUsageSource(usage);
  metrics.setTraceSource(() => ({ recorded: ctx.tracer?.recorded ?? 0, exported: ctx.otlp?.exported ?? 0, dropped: ctx.otlp?.dropped ?? 0 }));
  // Another observer (the telemetry recorder) may already be there: feed both.
  ctx.router.observer = ctx.router.observer ? fanOut(ctx.router.observer, metrics.calls) : metrics.calls;

  const auth = new Authenticator({
    settings: ctx.config.auth,
    dataDir: ctx.config.dataDir,
    call: (target, params, opts) => ctx.router.call(target, params, opts),
    bus: ctx.bus,
    logger: ctx.logger,
    onCheck: (o) => metrics.auth(o),
  });
  const deps = { ctx, auth, metrics, limiter: new RateLimiter(httpCfg.rateLimit), telemetry: options.telemetry ?? engine?.source ?? basicTelemetry(ctx.supervisor, metrics) };
  const surface: ControlSurface = { metrics, auth, close: async () => undefined };
  try {
    if (httpCfg.enabled) {
      const { HttpServer } = await import("./http-server.js");
      surface.http = await HttpServer.start(deps);
      const a = surface.http.address;
      const http = { host: a.host, port: a.port, url: a.url, ws: `${a.url.replace(/^http/, "ws")}/ws/plugins` };
      // Read when bkg.status is asked, so a reload (or a failed one) shows at once.
      const tls = surface.http.tls;
      if (tls) Object.defineProperty(http, "tls", { enumerable: true, get: () => tls.state });
      ctx.endpoints = { ...ctx.endpoints, http };
      ctx.logger.info({ url: a.url, port: a.port }, `HTTP control API on ${a.url} (WebSocket ${a.url.replace(/^http/, "ws")}/ws/plugins)`);
    }
    if (grpcCfg.enabled) {
      const { GrpcServer } = await import("./grpc-server.js");
      surface.grpc = await GrpcServer.start(deps);
      ctx.endpoints = { ...ctx.endpoints, grpc: { host: surface.grpc.host, port: surface.grpc.port, address: `${surface.grpc.host}:${surface.grpc.port}`, tls: Boolean(grpcCfg.tls) } };
      const tls = grpcCfg.tls ? (grpcCfg.tls.clientCaFile ? "TLS, client certificates required" : "TLS") : "plaintext";
      ctx.logger.info({ port: surface.grpc.port, tls: Boolean(grpcCfg.tls) }, `gRPC bkg.v1.Bus on ${surface.grpc.host}:${surface.grpc.port} (${tls})`);
    }
  } catch (e) {
    announceRootToken(ctx, auth);
    await surface.http?.close(0);
    auth.close();
    throw e;
  }
  // After the listen, so the example names the port the kernel gave when the config said 0.
  announceRootToken(ctx, auth, ctx.endpoints?.http?.url);
  surface.close = async () => {
    await Promise.all([surface.http?.close(), surface.grpc?.close()]);
    auth.close();
  };
  return surface;
}

/** Says where the root token is; shows the token itself once, on its creation, and only on a terminal. */
function announceRootToken(ctx: DaemonContext, auth: Authenticator, httpUrl?: string): void {
  const root = auth.rootToken;
  if (!root?.created) return;
  ctx.logger.info({ file: root.file }, `created the root token (an admin credential) in ${root.file}, mode 0600; read it from there`);
  if (process.stderr.isTTY) {
    const example = httpUrl ? `    e.g. curl -H "Authorization: Bearer $(cat ${root.file})" ${httpUrl}/api/plugins\n\n` : "";
    process.stderr.write(`\n    bkg: the root token (an admin credential), shown this once; it is also in ${root.file}\n\n        ${root.reveal()}\n\n${example}`);
  }
}
