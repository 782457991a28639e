/**
 * GET /health (liveness, public by default), GET /ready (every eager plugin ready),
 * GET /metrics (Prometheus text), GET /openapi.json (generated from the route schemas).
 */
import type { FastifyInstance } from "fastify";
import type { SurfaceDeps } from "./surface-deps.js";
import { errorSchema } from "./http-schemas.js";

/** States that do not hold up readiness: nothing is expected to be running. */
const NOT_EXPECTED = new Set(["disabled", "idle"]);

export function registerSystemRoutes(app: FastifyInstance, { ctx, metrics }: SurfaceDeps): void {
  app.get(
    "/health",
    {
      config: { action: "bkg.status" },
      schema: {
        tags: ["system"],
        summary: "Liveness: the daemon answers. Public unless http.publicRoutes says otherwise.",
        security: [],
        response: { 200: { type: "object", properties: { status: { const: "ok" }, version: { type: "string" }, uptimeMs: { type: "number" }, pid: { type: "integer" } } } },
      },
    },
    async () => ({ status: "ok", version: ctx.version, uptimeMs: Date.now() - ctx.startedAt, pid: process.pid }),
  );

  app.get(
    "/ready",
    {
      config: { action: "bkg.ready" },
      schema: {
        tags: ["system"],
        summary: "Readiness: 200 when every eager, enabled plugin is ready; 503 with the ones that are not.",
        response: { 200: { type: "object", additionalProperties: true }, 503: { type: "object", additionalProperties: true } },
      },
    },
    async (_req, reply) => {
      const plugins = ctx.supervisor.list().filter((p) => p.activation !== "lazy" && !NOT_EXPECTED.has(p.state));
      const notReady = plugins.filter((p) => p.state !== "ready").map((p) => ({ name: p.name, state: p.state, ...(p.reason ? { reason: p.reason } : {}) }));
      reply.code(notReady.length ? 503 : 200);
      return { ready: notReady.length === 0, plugins: plugins.length, notReady };
    },
  );

  app.get(
    "/metrics",
    { config: { action: "bkg.metrics" }, schema: { tags: ["system"], summary: "Prometheus metrics (text exposition format)", produces: ["text/plain"], response: { "4xx": errorSchema } } },
    async (_req, reply) => {
      const text = await metrics.render();
      return reply.type(metrics.contentType).send(text);
    },
  );

  app.get("/openapi.json", { config: { action: "bkg.openapi" }, schema: { hide: true } }, async () => app.swagger());
}
