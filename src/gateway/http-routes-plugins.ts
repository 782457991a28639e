/**
 * The plugins: list, one plugin's details, start/stop/reload, logs and telemetry. Each route
 * runs the same control method as the unix socket (control-api.ts), so the answers match
 * `bkg plugins ... --json`.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { BkgError, ErrorCodes } from "@bkg/protocol";
import { actorOf, authorizeAction } from "../auth/index.js";
import { CONTROL_METHODS } from "./control-api.js";
import { principalOf } from "./request-principal.js";
import { anyObject, errorResponses, nameParams } from "./http-schemas.js";
import type { SurfaceDeps } from "./surface-deps.js";

type NameReq = { Params: { name: string } };

/** Who a request acts as, for the audit trail; a route made public (http.publicRoutes) has no principal. */
export function requestActor(req: FastifyRequest): string {
  return req.principal ? actorOf(req.principal) : `anonymous (${req.ip})`;
}

export const LOG_LIMIT = { default: 200, max: 500 };

export function registerPluginRoutes(app: FastifyInstance, { ctx, telemetry }: SurfaceDeps): void {
  const tags = ["plugins"];
  const notFound = (name: string) =>
    new BkgError(
      ErrorCodes.MethodNotFound,
      `no plugin named "${name}"; known plugins: ${
        ctx.supervisor
          .list()
          .map((p) => p.name)
          .join(", ") || "(none)"
      }`,
    );

  app.get(
    "/api/plugins",
    {
      config: { action: "bkg.plugins.list" },
      schema: { tags, summary: "Every plugin: state, version, instances, restarts", response: { 200: { type: "array", items: anyObject }, ...errorResponses } },
    },
    async (req) => CONTROL_METHODS["bkg.plugins.list"](ctx, {}, requestActor(req)),
  );

  app.get<NameReq & { Querystring: { secrets?: boolean } }>(
    "/api/plugins/:name",
    {
      config: { action: "bkg.plugins.info" },
      schema: {
        tags,
        summary: "One plugin: state and reason, pids, instances, methods, manifest (env values and secret config redacted), restarts, last exit",
        params: nameParams,
        querystring: { type: "object", properties: { secrets: { type: "boolean", default: false, description: "Show the manifest's env and config unredacted (admin only)" } } },
        response: { 200: anyObject, ...errorResponses },
      },
    },
    async (req) => {
      if (req.query.secrets) authorizeAction(principalOf(req), "bkg.plugins.secrets");
      const info = ctx.supervisor.info(req.params.name, { secrets: req.query.secrets === true });
      if (!info) throw notFound(req.params.name);
      return { ...info, pids: info.instances.map((i) => i.pid).filter((p) => p !== undefined), lastError: info.lastExit ?? (info.reason ? { reason: info.reason } : null) };
    },
  );

  for (const verb of ["start", "stop", "reload", "restart"] as const) {
    app.post<NameReq & { Querystring: { wait?: boolean; timeoutMs?: number } }>(
      `/api/plugins/:name/${verb}`,
      {
        config: { action: `bkg.plugins.${verb}` },
        schema: {
          tags,
          summary: `${verb[0].toUpperCase()}${verb.slice(1)}s the plugin (as bkg plugins ${verb}); with ?wait=true the answer comes once it has settled, and \`ok\` says whether it got there`,
          params: nameParams,
          querystring: { type: "object", properties: { wait: { type: "boolean" }, timeoutMs: { type: "integer", minimum: 1, maximum: 600000 } }, additionalProperties: false },
          response: { 200: anyObject, ...errorResponses },
        },
      },
      async (req) => CONTROL_METHODS[`bkg.plugins.${verb}`](ctx, { name: req.params.name, wait: req.query.wait === true, timeoutMs: req.query.timeoutMs }, requestActor(req)),
    );
  }

  app.get<NameReq & { Querystring: { limit?: number } }>(
    "/api/plugins/:name/logs",
    {
      config: { action: "bkg.plugins.logs" },
      schema: {
        tags,
        summary: "The plugin's last log lines, oldest first (stderr, bkg/log, and the daemon's notes about it)",
        params: nameParams,
        querystring: { type: "object", properties: { limit: { type: "integer", minimum: 1, maximum: LOG_LIMIT.max, default: LOG_LIMIT.default } } },
        response: { 200: { type: "array", items: anyObject }, ...errorResponses },
      },
    },
    async (req) => CONTROL_METHODS["bkg.plugins.logs"](ctx, { name: req.params.name, limit: req.query.limit ?? LOG_LIMIT.default }, requestActor(req)),
  );

  app.get<NameReq>(
    "/api/plugins/:name/telemetry",
    {
      config: { action: "bkg.plugins.telemetry" },
      schema: { tags, summary: "The plugin's live numbers: instances, calls and errors per method", params: nameParams, response: { 200: anyObject, ...errorResponses } },
    },
    async (req) => {
      const t = await telemetry.plugin(req.params.name);
      if (t === undefined) throw notFound(req.params.name);
      return t;
    },
  );
}
