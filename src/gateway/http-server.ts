/**
 * The HTTP control surface (fastify): JSON routes, server-sent events for streaming calls, the
 * WebSocket hub at /ws/plugins (on the same port), the OpenAI-compatible /v1 routes
 * (openai-routes.ts), /metrics and /openapi.json. docs/http.md is
 * the user's reference.
 *
 * Each request goes through, in order:
 *   onRequest   (cors)       CORS headers; answers preflights
 *   onRequest   (ours)       request id; credential -> Principal (or the auth error, kept for later);
 *                            then the rate limit: one count against cred:<id>, or ip:<addr> without a
 *                            valid credential, X-RateLimit-* headers, 429 with Retry-After
 *   preParsing  (ours)       the kept auth error (401/503), then role and scope (403) - before the body is read
 *   body                     JSON (parseJsonBody: JSON.parse, prototype-poisoning checked only when the text could hide it)
 *   handler                  errors become {error: {code, name, message, details?}} (http-errors.ts)
 *   onResponse  (ours)       access log line and HTTP metrics
 *
 * The hooks are callback-style and synchronous whenever they can be (a cached credential): each
 * async hook costs promises and microtask turns on every request, and the call route is hot.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import cors from "@fastify/cors";
import swagger from "@fastify/swagger";
import { BkgError, ErrorCodes } from "@bkg/protocol";
import { authorizeAction, authorizeCall, credentialFromHeaders, onlyModelScoped, type Principal } from "../auth/index.js";
import { parseJsonBody, traceOfRequest, traceparentOf } from "./http-call-common.js";
import { ReloadingTls } from "./reloading-tls.js";
import { accessLog } from "./access-log.js";
import { HttpError, toHttpError } from "./http-errors.js";
import { fastCallHandler } from "./http-fast-call.js";
import { ThrottledWarn } from "./throttled-warn.js";
import type { RateKey, RateLimiter } from "./rate-limiter.js";
import { registerDashboardRoutes } from "./http-routes-dashboard.js";
import { registerDashboardApiRoutes } from "./http-routes-dashboard-api.js";
import { registerTraceRoutes } from "./http-routes-traces.js";
import { registerAuthRoutes } from "./http-routes-auth.js";
import { registerOpenAIRoutes } from "./openai-routes.js";
import { registerCallRoutes } from "./http-routes-call.js";
import { registerEventRoutes } from "./http-routes-events.js";
import { registerModelRoutes } from "./http-routes-models.js";
import { registerPluginRoutes } from "./http-routes-plugins.js";
import { registerSystemRoutes } from "./http-routes-system.js";
import type { SurfaceDeps } from "./surface-deps.js";
import { WsHub } from "./ws-hub.js";

export class HttpServer {
  private constructor(
    readonly app: FastifyInstance,
    readonly hub: WsHub,
    /** Set when http.tls is: the certificate in use, reloaded when its files change. */
    readonly tls?: ReloadingTls,
  ) {}

  /** The address actually bound (port 0 in the config picks a free one). */
  get address(): { host: string; port: number; url: string } {
    const a = this.app.server.address() as AddressInfo;
    const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
    return { host: a.address, port: a.port, url: `${this.tls ? "https" : "http"}://${host}:${a.port}` };
  }

  static async start(deps: SurfaceDeps): Promise<HttpServer> {
    const { ctx, auth, limiter, metrics } = deps;
    const cfg = ctx.config.http;
    const log = ctx.logger.child({ component: "http" });
    const publicRoutes = new Set(cfg.publicRoutes);
    let closing = false;
    const writeAccessLog = accessLog(log);
    const responded = (reqId: string, cred: string | null, method: string, path: string, route: string, status: number, elapsedMs: number, ip: string) => {
      metrics.http(method, route, status, elapsedMs / 1000);
      if (cfg.accessLog) writeAccessLog(reqId, cred, method, route, path, status, Math.round(elapsedMs * 10) / 10, ip);
    };
    const logFailure = (reqId: string, method: string, path: string, body: ReturnType<typeof toHttpError>["body"]) =>
      log.error({ reqId, err: body.error }, `${method} ${path} failed: ${body.error.message}`);
    // The plain POST /api/call case is served by http-fast-call.ts; everything else by fastify.
    const fastCall = fastCallHandler(deps, { genReqId, rateLimit: (key, res) => rateLimit(limiter, metrics, key, res, setResHeader), closing: () => closing, logFailure, responded });
    // A config that makes the call route public leaves it to fastify (whose handler refuses it).
    const fast = publicRoutes.has("POST /api/call/:plugin/:method") ? () => false : fastCall;
    const tls = cfg.tls ? new ReloadingTls(cfg.tls, log) : undefined;
    const app = Fastify({
      logger: false,
      bodyLimit: cfg.bodyLimit,
      return503OnClosing: true,
      genReqId,
      serverFactory: (handler) => {
        // Every phase a client controls is timed (nginx's client_header/body timeouts): headers,
        // the whole request (a slow body gets 408 and the connection closes), the idle time
        // between keep-alive requests. The response phase is bounded by the call's own deadline.
        const requestTimeout = cfg.requestTimeoutMs;
        const timeouts = {
          headersTimeout: cfg.headersTimeoutMs,
          requestTimeout,
          keepAliveTimeout: cfg.keepAliveTimeoutMs,
          // Node checks the two timeouts above on this interval (30 s by default): a quarter of the shortest.
          connectionsCheckingInterval: Math.max(50, Math.min(cfg.headersTimeoutMs, requestTimeout || Infinity) / 4),
        };
        const serve = (req: IncomingMessage, res: ServerResponse) => {
          if (!fast(req, res)) handler(req, res);
        };
        // Over TLS every answer, the fast call path's included, tells browsers to stay on HTTPS.
        const serveTls = (req: IncomingMessage, res: ServerResponse) => {
          res.setHeader("strict-transport-security", "max-age=31536000");
          serve(req, res);
        };
        const server = tls ? createHttpsServer({ ...timeouts, ...tls.serverOptions }, serveTls) : createServer(timeouts, serve);
        server.setTimeout(0);
        // WebSocket sessions count too: an upgraded socket stays one of the server's connections.
        if (cfg.maxConnections > 0) {
          server.maxConnections = cfg.maxConnections;
          const refusals = new ThrottledWarn(log);
          server.on("drop", (d?: { remoteAddress?: string }) =>
            refusals.warn({ limit: "http.maxConnections", max: cfg.maxConnections, ip: d?.remoteAddress }, `refused an HTTP connection: ${cfg.maxConnections} are open (http.maxConnections)`),
          );
        }
        return server;
      },
      ajv: { customOptions: { removeAdditional: false, coerceTypes: "array", useDefaults: true, allErrors: true } },
    });
    // Response schemas document; they do not filter what is sent.
    app.setSerializerCompiler(() => (data) => JSON.stringify(data));
    app.decorateRequest("principal", null);
    app.decorateRequest("authError", null);
    app.decorateRequest("rateKey", "ip:");
    app.decorateRequest("ownSpan", null);

    app.setErrorHandler((err, req, reply) => {
      const { status, body } = toHttpError(err, cfg.bodyLimit);
      if (status >= 500 && status !== 503 && status !== 504 && status !== 502) logFailure(req.id, req.method, req.url.split("?")[0], body);
      const retry = (body.error.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
      if (status === 429 && retry !== undefined) reply.header("retry-after", String(retry));
      return reply.code(status).type("application/json; charset=utf-8").send(body);
    });
    app.setNotFoundHandler((req, reply) => {
      const e = new BkgError(ErrorCodes.MethodNotFound, `no route ${req.method} ${req.url.split("?")[0]}; the routes are listed at GET /openapi.json`);
      return reply.code(404).send(toHttpError(e).body);
    });

    await app.register(cors, {
      origin: cfg.cors.origins.length ? cfg.cors.origins : false,
      methods: ["GET", "POST", "DELETE"],
      allowedHeaders: ["authorization", "x-api-key", "content-type", "x-request-id", "traceparent", "last-event-id"],
      exposedHeaders: ["x-request-id", "traceresponse", "retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"],
      maxAge: 600,
    });

    // Bodies are parsed as JSON by a leaner parser than fastify's (which adds secure-json-parse's
    // regular expressions over every body); same limit, statuses and codes (400 -32700; a broken
    // body's message now says where JSON.parse stopped instead of fastify's generic sentence).
    // Only JSON: fastify's default text/plain parser would hand a route a string as its body (415 instead).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("application/json", { parseAs: "string" }, parseJsonBody);

    app.addHook("onRequest", (req, reply, done) => {
      reply.header("x-request-id", req.id);
      const url = req.routeOptions.url;
      // Unmatched routes (404) and CORS preflights are neither authenticated nor counted.
      if (!url || req.method === "OPTIONS") {
        req.rateKey = `ip:${req.ip}`;
        return done();
      }
      const method = req.method === "HEAD" ? "GET" : req.method;
      if (req.routeOptions.config.public === "always" || publicRoutes.has(`${method} ${url}`)) {
        req.rateKey = `ip:${req.ip}`;
        return done(rateLimit(limiter, metrics, req.rateKey, reply, setReplyHeader));
      }
      const credential = credentialFromHeaders(req.headers);
      const key = auth.cacheKeyFor(req.raw.socket, credential);
      let principal: Principal | undefined;
      try {
        principal = auth.cached(credential, key);
      } catch (e) {
        return done(refused(req, reply, e));
      }
      if (principal) return done(accepted(req, reply, principal));
      // Only the auth plugin can tell: its call joins this request's trace.
      const trace = traceOfRequest(ctx.tracer, traceparentOf(req.headers));
      req.ownSpan = trace.ownSpan ?? null;
      auth.authenticate(credential, key, trace.traceparent).then(
        (p) => done(accepted(req, reply, p)),
        (e) => done(refused(req, reply, e)),
      );
    });
    const accepted = (req: FastifyRequest, reply: FastifyReply, p: Principal) => {
      req.principal = p;
      req.rateKey = `cred:${p.id}`;
      return rateLimit(limiter, metrics, req.rateKey, reply, setReplyHeader);
    };
    const refused = (req: FastifyRequest, reply: FastifyReply, e: unknown) => {
      req.authError = BkgError.from(e);
      req.rateKey = `ip:${req.ip}`;
      return rateLimit(limiter, metrics, req.rateKey, reply, setReplyHeader);
    };

    app.addHook("preParsing", (req, _reply, payload, done) => {
      try {
        if (req.authError) throw req.authError;
        const p = req.principal;
        const action = req.routeOptions.config.action;
        if (p && action && action !== "self") {
          if (action === "call") {
            const { plugin, method } = req.params as { plugin: string; method: string };
            // Model-scoped keys are checked by the route, once the body (and its model) is read.
            if (!onlyModelScoped(p.scopes, `${plugin}.${method}`)) authorizeCall(p, `${plugin}.${method}`, auth.plugin);
          } else authorizeAction(p, action);
        }
      } catch (e) {
        return done(e as Error);
      }
      done(null, payload);
    });

    app.addHook("onResponse", (req, reply, done) => {
      const q = req.url.indexOf("?");
      responded(req.id, req.principal?.id ?? null, req.method, q < 0 ? req.url : req.url.slice(0, q), req.routeOptions.url ?? "(unmatched)", reply.statusCode, reply.elapsedTime, req.ip);
      done();
    });

    await app.register(swagger, {
      openapi: {
        openapi: "3.0.3",
        info: { title: "bkg control API", version: ctx.version, description: "The bkg daemon's HTTP surface. See docs/http.md." },
        components: {
          securitySchemes: {
            bearer: { type: "http", scheme: "bearer", description: "An API key (bkg_live_...), a session token from POST /auth/login, or the root token" },
            apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
          },
        },
        security: [{ bearer: [] }, { apiKey: [] }],
      },
    });

    registerSystemRoutes(app, deps);
    registerPluginRoutes(app, deps);
    registerEventRoutes(app, deps);
    registerModelRoutes(app, deps);
    registerCallRoutes(app, deps);
    registerAuthRoutes(app, deps);
    await registerOpenAIRoutes(app, deps);
    registerDashboardApiRoutes(app, deps);
    registerTraceRoutes(app, deps);
    const dashboard = await registerDashboardRoutes(app, cfg.dashboard);
    if (cfg.dashboard && !dashboard.dir) log.warn({ reason: dashboard.reason }, "the web dashboard is not built, so / answers 404: run `npm run build -w dashboard`");

    const hub = new WsHub(deps);
    app.server.on("upgrade", (req, socket, head) => hub.handleUpgrade(req, socket, head));

    await app.listen({ host: cfg.host, port: cfg.port }).catch((e: NodeJS.ErrnoException) => {
      const hint = e.code === "EADDRINUSE" ? `; another process has it (set http.port, or BKG_HTTP_PORT, e.g. to 0 for any free port)` : "";
      throw new BkgError(ErrorCodes.InternalError, `cannot listen for HTTP on ${cfg.host}:${cfg.port}: ${e.message}${hint}`);
    });
    tls?.watch(app.server as HttpsServer);
    const server = new HttpServer(app, hub, tls);
    server.setClosing = () => (closing = true);
    return server;
  }

  private setClosing?: () => void;

  /** Stops taking requests; in-flight ones get up to `graceMs`, then their connections are closed. */
  async close(graceMs = 3000): Promise<void> {
    this.setClosing?.();
    this.tls?.stop();
    this.hub.close();
    const timer = setTimeout(() => this.app.server.closeAllConnections(), graceMs);
    try {
      await this.app.close();
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The request id: the client's X-Request-Id if it is sane, else a new UUID. */
function genReqId(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && /^[\w.:-]{1,64}$/.test(given) ? given : randomUUID();
}

const setReplyHeader = (reply: FastifyReply, name: string, value: number) => void reply.header(name, value);
const setResHeader = (res: ServerResponse, name: string, value: number) => res.setHeader(name, value);

/**
 * The rate limit of one request: counts it against `key`, sets X-RateLimit-Limit, -Remaining and
 * -Reset (as @fastify/rate-limit did), and when over the limit Retry-After and the 429 error.
 */
function rateLimit<T>(limiter: RateLimiter, metrics: SurfaceDeps["metrics"], key: RateKey, target: T, set: (target: T, name: string, value: number) => void): HttpError | undefined {
  const max = limiter.limitFor(key);
  if (max <= 0) return undefined;
  const { current, ttl } = limiter.hit(key);
  const reset = Math.ceil(ttl / 1000);
  set(target, "x-ratelimit-limit", max);
  set(target, "x-ratelimit-remaining", Math.max(0, max - current));
  set(target, "x-ratelimit-reset", reset);
  if (current <= max) return undefined;
  metrics.rateLimited(key.startsWith("cred:") ? "credential" : "ip");
  set(target, "retry-after", reset);
  const e = limiter.exceeded(key, max, reset);
  return new HttpError(429, e.code, e.message, e.data);
}
