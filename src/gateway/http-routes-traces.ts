/**
 * The daemon's recent traces (docs/tracing.md): GET /api/traces?limit= and GET /api/traces/:traceId,
 * the same control methods as `bkg trace list --json` and `bkg trace ID --json`. The answer shapes
 * are a contract (the dashboard's traces page reads them); the schemas below document them in
 * /openapi.json.
 */
import type { FastifyInstance } from "fastify";
import { requestActor } from "./http-routes-plugins.js";
import { errorResponses } from "./http-schemas.js";
import type { SurfaceDeps } from "./surface-deps.js";
import { TRACE_METHODS } from "./traces-api.js";

const traceSummary = {
  type: "object",
  required: ["traceId", "root", "startedAt", "durationMs", "spanCount", "error"],
  properties: {
    traceId: { type: "string", description: "32 hex digits" },
    root: { type: "string", description: "plugin.method of the trace's first span without a parent on this daemon" },
    startedAt: { type: "number", description: "epoch ms of the earliest span" },
    durationMs: { type: "number" },
    spanCount: { type: "integer" },
    error: { type: "boolean", description: "whether any span ended other than ok" },
  },
} as const;

const span = {
  type: "object",
  required: ["spanId", "name", "plugin", "method", "node", "caller", "startTime", "durationMs", "queueWaitMs", "outcome"],
  properties: {
    spanId: { type: "string" },
    parentSpanId: { type: "string", description: "absent for a trace's first span" },
    name: { type: "string", description: "plugin.method" },
    plugin: { type: "string" },
    method: { type: "string" },
    instance: { type: "string", description: "<plugin>#<n>@<pid>: the instance that served the call" },
    node: { type: "string", description: "the daemon (node id) that recorded the span" },
    caller: { type: "string" },
    startTime: { type: "number", description: "epoch ms, fractional" },
    durationMs: { type: "number" },
    queueWaitMs: { type: "number" },
    outcome: { enum: ["ok", "error", "cancelled", "timeout"] },
    errorCode: { type: "integer", description: "the wire error code, when the outcome is not ok" },
  },
} as const;

export function registerTraceRoutes(app: FastifyInstance, { ctx }: SurfaceDeps): void {
  const tags = ["traces"];
  app.get<{ Querystring: { limit?: number } }>(
    "/api/traces",
    {
      config: { action: "bkg.plugins.telemetry" },
      schema: {
        tags,
        summary: "Recent traces kept by this daemon, the most recently active first (as bkg trace list --json)",
        querystring: { type: "object", additionalProperties: false, properties: { limit: { type: "integer", minimum: 1, default: 50 } } },
        response: { 200: { type: "object", required: ["traces"], properties: { traces: { type: "array", items: traceSummary } } }, ...errorResponses },
      },
    },
    async (req) => TRACE_METHODS["bkg.traces.list"](ctx, { limit: req.query.limit }, requestActor(req)),
  );

  app.get<{ Params: { traceId: string } }>(
    "/api/traces/:traceId",
    {
      config: { action: "bkg.plugins.telemetry" },
      schema: {
        tags,
        summary: "One trace's spans in start order (as bkg trace ID --json); 404 when this daemon keeps no such trace",
        params: { type: "object", required: ["traceId"], properties: { traceId: { type: "string", maxLength: 64 } } },
        response: {
          200: {
            type: "object",
            required: ["traceId", "spans"],
            properties: { traceId: { type: "string" }, spans: { type: "array", items: span }, droppedSpans: { type: "integer", description: "spans past telemetry.tracing.spansPerTrace, not kept" } },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => TRACE_METHODS["bkg.traces.get"](ctx, { traceId: req.params.traceId }, requestActor(req)),
  );
}
