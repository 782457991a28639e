/**
 * What happened, from the store: GET /api/events (lifecycle, call errors, audit, plugin events,
 * daemon notes) and GET /api/cluster/nodes. The same control methods as `bkg events --json` and
 * `bkg status --cluster --json`, so the answers match.
 */
import type { FastifyInstance } from "fastify";
import { EVENT_KINDS } from "../store/index.js";
import { requestActor } from "./http-routes-plugins.js";
import { TELEMETRY_METHODS } from "./telemetry-api.js";
import { anyObject, errorResponses } from "./http-schemas.js";
import type { SurfaceDeps } from "./surface-deps.js";

export const EVENT_LIMIT = { default: 200, max: 1000 };

const TIME = "epoch milliseconds, an ISO time, or a duration back from now (90s, 15m, 1h, 7d)";

type EventsQuery = { Querystring: { plugin?: string; since?: string; until?: string; kinds?: string; node?: string; limit?: number } };

export function registerEventRoutes(app: FastifyInstance, { ctx }: SurfaceDeps): void {
  const tags = ["events"];
  app.get<EventsQuery>(
    "/api/events",
    {
      config: { action: "bkg.events" },
      schema: {
        tags,
        summary: "Stored events, oldest first: lifecycle, call errors, audit, plugin events, daemon notes (as bkg events --json)",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            plugin: { type: "string", description: "only this plugin's events" },
            since: { type: "string", description: `from this time (${TIME}); default: the last hour` },
            until: { type: "string", description: `up to this time (${TIME})` },
            kinds: { type: "string", description: `comma-separated, some of: ${EVENT_KINDS.join(", ")}` },
            node: { type: "string", description: "only events written by this daemon (node id), for several daemons on one PostgreSQL" },
            limit: { type: "integer", minimum: 1, maximum: EVENT_LIMIT.max, default: EVENT_LIMIT.default },
          },
        },
        response: { 200: { type: "array", items: anyObject }, ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      return TELEMETRY_METHODS["bkg.events.query"](ctx, { ...q, since: q.since ?? "1h", limit: q.limit ?? EVENT_LIMIT.default }, requestActor(req));
    },
  );

  app.get(
    "/api/cluster/nodes",
    {
      config: { action: "bkg.status" },
      schema: {
        tags,
        summary: "Every daemon writing to the same store, this one first, with its plugins and last-seen time (as bkg status --cluster)",
        response: { 200: { type: "array", items: anyObject }, ...errorResponses },
      },
    },
    async (req) => TELEMETRY_METHODS["bkg.cluster.nodes"](ctx, {}, requestActor(req)),
  );
}
