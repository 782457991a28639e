/**
 * Control methods over the daemon's recent traces (merged into CONTROL_METHODS; docs/tracing.md):
 *   bkg.traces.list {limit?}   -> { traces: TraceSummary[] }, the most recently active first
 *   bkg.traces.get  {traceId}  -> { traceId, spans: SpanView[] } in start order; -32601 (404) when
 *                                 this daemon keeps no such trace
 * HTTP serves them as GET /api/traces?limit= and GET /api/traces/:traceId.
 */
import { BkgError, ErrorCodes } from "@bkg/protocol";
import type { Tracer } from "../tracing/index.js";
import type { ControlMethod } from "./control-method.js";
import type { DaemonContext } from "./daemon-context.js";

const DEFAULT_LIMIT = 50;
const TRACE_ID = /^[0-9a-f]{32}$/;

function tracerOf(ctx: DaemonContext): Tracer {
  if (!ctx.tracer) throw new BkgError(ErrorCodes.InvalidRequest, "tracing is off on this daemon: set telemetry.tracing.enabled to true (docs/tracing.md)");
  return ctx.tracer;
}

/** params.limit as a count from 1 up to the buffer's size; absent: 50. Strings are accepted (query strings). */
function limitOf(v: unknown, max: number): number {
  if (v === undefined || v === null || v === "") return Math.min(DEFAULT_LIMIT, max);
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) throw new BkgError(ErrorCodes.InvalidParams, `params.limit must be a whole number of traces >= 1, got ${JSON.stringify(v)}`);
  return Math.min(n, max);
}

export const TRACE_METHODS: Record<string, ControlMethod> = {
  "bkg.traces.list": (ctx, p) => {
    const tracer = tracerOf(ctx);
    return { traces: tracer.buffer.list(limitOf(p?.limit, ctx.config.telemetry.tracing.bufferTraces)) };
  },
  "bkg.traces.get": (ctx, p) => {
    const tracer = tracerOf(ctx);
    const raw = p?.traceId;
    const id = typeof raw === "string" ? raw.trim().toLowerCase() : "";
    if (!TRACE_ID.test(id))
      throw new BkgError(ErrorCodes.InvalidParams, `params.traceId must be a trace id: 32 hex digits (as in traceparent 00-<trace id>-<span id>-01), got ${JSON.stringify(raw ?? null)}`);
    const trace = tracer.buffer.get(id);
    if (!trace) {
      throw new BkgError(
        ErrorCodes.MethodNotFound,
        `no trace ${id} on this daemon: it keeps the last ${ctx.config.telemetry.tracing.bufferTraces} traces (telemetry.tracing.bufferTraces), and only sampled calls (sampleRatio ${ctx.config.telemetry.tracing.sampleRatio}) are recorded`,
      );
    }
    return trace;
  },
};
