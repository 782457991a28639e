/**
 * The HTTP control surface (fastify): JSON routes, server-sent events for streaming calls, the
 * WebSocket hub at /ws/plugins (on the same port), /metrics and /openapi.json. docs/http.md is
 * the user's reference.
 *
 * Each request goes through, in order:
 *   onRequest   (ours)       request id; credential -> Principal (or the auth error, kept for later)
 *   onRequest   (rate-limit) one count against cred:<id>, or ip:<addr> without a valid credential: 429
 *   preParsing  (ours)       the kept auth error (401/503), then role and scope (403) - before the body is read
 *   handler                  errors become {error: {code, name, message, details?}} (http-errors.ts)
 *   onResponse  (ours)       access log line and HTTP metrics
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import cors from "@fastify/cors";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import { BkgError, ErrorCodes } from "@bkg/protocol";
import { authorizeAction, authorizeCall, credentialFromHeaders, type DaemonAction, type Principal } from "../auth/index.js";
import { HttpError, toHttpError } from "./http-errors.js";
import { registerAuthRoutes } from "./http-routes-auth.js";
import { registerCallRoutes } from "./http-routes-call.js";
import { registerPluginRoutes } from "./http-routes-plugins.js";
import { registerSystemRoutes } from "./http-routes-system.js";
import type { SurfaceDeps } from "./surface-deps.js";
import { WsHub } from "./ws-hub.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** What the route needs: a daemon action (access-policy.ts), "call" (the plugin method in the URL), or "self" (any valid credential). */
    action?: DaemonAction | "call" | "self";
    /** "always": never needs a credential (POST /auth/login). Other routes are public only if http.publicRoutes lists them. */
    public?: "always";
  }
  interface FastifyRequest {
    principal: Principal | null;
    authError: BkgError | null;
    rateKey: string;
  }
}

/** The principal of a guarded route's request (the hooks guarantee it is there). */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new BkgError(ErrorCodes.Unauthenticated, "no credential was checked for this request");
  return req.principal;
}

export class HttpServer {
  private constructor(
    readonly app: FastifyInstance,
    readonly hub: WsHub,
  ) {}

  /** The address actually bound (port 0 in the config picks a free one). */
  get address(): { host: string; port: number; url: string } {
    const a = this.app.server.address() as AddressInfo;
    const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
    return { host: a.address, port: a.port, url: `http://${host}:${a.port}` };
  }

  static async start(deps: SurfaceDeps): Promise<HttpServer> {
    const { ctx, auth, limiter, metrics } = deps;
    const cfg = ctx.config.http;
    const log = ctx.logger.child({ component: "http" });
    const publicRoutes = new Set(cfg.publicRoutes);
    const app = Fastify({
      logger: false,
      bodyLimit: cfg.bodyLimit,
      return503OnClosing: true,
      genReqId: (req) => {
        const given = req.headers["x-request-id"];
        return typeof given === "string" && /^[\w.:-]{1,64}$/.test(given) ? given : randomUUID();
      },
      ajv: { customOptions: { removeAdditional: false, coerceTypes: "array", useDefaults: true, allErrors: true } },
    });
    // Response schemas document; they do not filter what is sent.
    app.setSerializerCompiler(() => (data) => JSON.stringify(data));
    app.decorateRequest("principal", null);
    app.decorateRequest("authError", null);
    app.decorateRequest("rateKey", "");

    app.setErrorHandler((err, req, reply) => {
      const { status, body } = toHttpError(err, cfg.bodyLimit);
      if (status >= 500 && status !== 503 && status !== 504 && status !== 502) log.error({ reqId: req.id, err: body.error }, `${req.method} ${req.url.split("?")[0]} failed: ${body.error.message}`);
      const retry = (body.error.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
      if (status === 429 && retry !== undefined) reply.header("retry-after", String(retry));
      return reply.code(status).type("application/json; charset=utf-8").send(body);
    });
    app.setNotFoundHandler((req, reply) => {
      const e = new BkgError(ErrorCodes.MethodNotFound, `no route ${req.method} ${req.url.split("?")[0]}; the routes are listed at GET /openapi.json`);
      return reply.code(404).send(toHttpError(e).body);
    });

    await app.register(cors, { origin: cfg.cors.origins.length ? cfg.cors.origins : false, methods: ["GET", "POST", "DELETE"], allowedHeaders: ["authorization", "x-api-key", "content-type", "x-request-id", "traceparent", "last-event-id"], exposedHeaders: ["x-request-id", "retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"], maxAge: 600 });

    app.addHook("onRequest", async (req, reply) => {
      reply.header("x-request-id", req.id);
      req.rateKey = `ip:${req.ip}`;
      const conf = req.routeOptions.config;
      if (!req.routeOptions.url || req.method === "OPTIONS") return;
      const method = req.method === "HEAD" ? "GET" : req.method;
      if (conf.public === "always" || publicRoutes.has(`${method} ${req.routeOptions.url}`)) return;
      try {
        req.principal = await auth.authenticate(credentialFromHeaders(req.headers));
        req.rateKey = `cred:${req.principal.id}`;
      } catch (e) {
        req.authError = BkgError.from(e);
      }
    });

    await app.register(rateLimit, {
      global: true,
      hook: "onRequest",
      timeWindow: cfg.rateLimit.windowMs,
      keyGenerator: (req) => req.rateKey,
      max: (_req, key) => limiter.limitFor(key),
      allowList: (_req, key) => limiter.limitFor(key) <= 0,
      store: class {
        constructor() {
          return limiter;
        }
      } as never,
      onExceeded: (req) => metrics.rateLimited(req.rateKey.startsWith("cred:") ? "credential" : "ip"),
      errorResponseBuilder: (req, c) => {
        const e = limiter.exceeded(req.rateKey, c.max, Math.ceil(c.ttl / 1000));
        return new HttpError(429, e.code, e.message, e.data);
      },
    });

    app.addHook("preParsing", async (req) => {
      if (req.authError) throw req.authError;
      const p = req.principal;
      const action = req.routeOptions.config.action;
      if (!p || !action || action === "self") return;
      if (action === "call") {
        const { plugin, method } = req.params as { plugin: string; method: string };
        authorizeCall(p, `${plugin}.${method}`, auth.plugin);
      } else authorizeAction(p, action);
    });

    app.addHook("onResponse", async (req, reply) => {
      const route = req.routeOptions.url ?? "(unmatched)";
      metrics.http(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
      if (!cfg.accessLog) return;
      const path = req.url.split("?")[0];
      log.info(
        { reqId: req.id, cred: req.principal?.id ?? null, method: req.method, route, path, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, ip: req.ip },
        `${req.method} ${path} ${reply.statusCode}`,
      );
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
    registerCallRoutes(app, deps);
    registerAuthRoutes(app, deps);

    const hub = new WsHub(deps);
    app.server.on("upgrade", (req, socket, head) => hub.handleUpgrade(req, socket, head));

    await app.listen({ host: cfg.host, port: cfg.port }).catch((e: NodeJS.ErrnoException) => {
      const hint = e.code === "EADDRINUSE" ? `; another process has it (set http.port, or BKG_HTTP_PORT, e.g. to 0 for any free port)` : "";
      throw new BkgError(ErrorCodes.InternalError, `cannot listen for HTTP on ${cfg.host}:${cfg.port}: ${e.message}${hint}`);
    });
    return new HttpServer(app, hub);
  }

  /** Stops taking requests; in-flight ones get up to `graceMs`, then their connections are closed. */
  async close(graceMs = 3000): Promise<void> {
    this.hub.close();
    const timer = setTimeout(() => this.app.server.closeAllConnections(), graceMs);
    try {
      await this.app.close();
    } finally {
      clearTimeout(timer);
    }
  }
}
