/**
 * What the dashboard reads besides the plugin routes: GET /api/status (as `bkg status --json`),
 * GET /api/config (the effective config with secrets masked, for the Settings page) and
 * GET /api/telemetry/series (per-minute charts from the stored rollups, default the last 15 min).
 */
import type { FastifyInstance } from "fastify";
import { redactSecrets } from "../registry/index.js";
import { status } from "./control-api.js";
import { requestActor } from "./http-routes-plugins.js";
import { anyObject, errorResponses } from "./http-schemas.js";
import type { SurfaceDeps } from "./surface-deps.js";
import { TELEMETRY_METHODS } from "./telemetry-api.js";

const TIME = "epoch milliseconds, an ISO time, or a duration back from now (90s, 15m, 1h)";

/**
 * The config with every secret masked ("[redacted]"): a string under a secret-sounding key or that
 * looks like a credential (redact-manifest.ts's rules). Only strings can hold a secret, so numbers
 * and flags stay visible even under such keys (`rateLimit.perCredential`, `auth.rootToken: true`).
 */
export function maskedConfig(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskedConfig);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = typeof v === "string" ? (redactSecrets({ [k]: v }) as Record<string, unknown>)[k] : maskedConfig(v);
  return out;
}

export function registerDashboardApiRoutes(app: FastifyInstance, { ctx }: SurfaceDeps): void {
  const tags = ["system"];
  app.get(
    "/api/status",
    {
      config: { action: "bkg.status" },
      schema: { tags, summary: "Version, pid, uptime, data dir, socket, HTTP and gRPC addresses, plugins by state (as bkg status --json)", response: { 200: anyObject, ...errorResponses } },
    },
    async () => ({ ...status(ctx), nodeVersion: process.version }),
  );

  app.get(
    "/api/config",
    {
      config: { action: "bkg.config" },
      schema: { tags, summary: "The effective config (file, environment and defaults), secrets masked as [redacted]", response: { 200: anyObject, ...errorResponses } },
    },
    async () => maskedConfig(ctx.config),
  );

  app.get<{ Querystring: { plugin?: string; since?: string; until?: string } }>(
    "/api/telemetry/series",
    {
      config: { action: "bkg.plugins.telemetry" },
      schema: {
        tags: ["plugins"],
        summary: "Per-minute series of each plugin from the stored rollups: calls, calls/s, errors, p99 (ms), RSS, CPU",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            plugin: { type: "string", description: "only this plugin" },
            since: { type: "string", description: `from this time (${TIME}); default: the last 15 minutes` },
            until: { type: "string", description: `up to this time (${TIME})` },
          },
        },
        response: { 200: anyObject, ...errorResponses },
      },
    },
    async (req) => TELEMETRY_METHODS["bkg.telemetry.series"](ctx, { ...req.query, since: req.query.since ?? "15m" }, requestActor(req)),
  );
}
