/**
 * One routed call's span, as the daemon records it. SpanView is the wire shape of
 * GET /api/traces/:traceId (a contract: the dashboard reads it).
 */
import { ErrorCodes } from "@bkg/protocol";
import { formatTraceparent } from "@bkg/protocol";

export type SpanOutcome = "ok" | "error" | "cancelled" | "timeout";

/** A span as GET /api/traces/:traceId and `bkg trace ID --json` show it. */
export interface SpanView {
  spanId: string;
  parentSpanId?: string;
  name: string;
  plugin: string;
  method: string;
  /** The plugin instance that served it: "<plugin>#<n>@<pid>"; absent when no instance was reached. */
  instance?: string;
  /** The node (daemon) that recorded it. */
  node: string;
  /** Who called: "cli", "http:key_...", "plugin:echo", ... */
  caller: string;
  /** Epoch ms, fractional. */
  startTime: number;
  durationMs: number;
  queueWaitMs: number;
  outcome: SpanOutcome;
  /** The wire error code when outcome is not ok. */
  errorCode?: number;
}

/** The outcome of a call that ended with wire code `code` (0: success). */
export function outcomeOf(code: number): SpanOutcome {
  if (code === 0) return "ok";
  if (code === ErrorCodes.RequestCancelled) return "cancelled";
  if (code === ErrorCodes.DeadlineExceeded) return "timeout";
  return "error";
}

/**
 * A sampled call's span while it runs and after. Made only for sampled calls; the router writes
 * `queueWaitMs` and `instance` when a slot is taken, the tracer the rest when the call ends.
 */
export class Span {
  /** What the plugin receives in _meta.traceparent: this trace, this span as the parent. */
  readonly traceparent: string;
  /** Epoch ms, fractional. */
  readonly startTime: number;
  /** performance.now() at the start, for the duration. */
  readonly t0: number;
  durationMs = 0;
  queueWaitMs = 0;
  instance?: string;
  outcome: SpanOutcome = "ok";
  errorCode?: number;

  constructor(
    readonly traceId: string,
    readonly spanId: string,
    readonly parentSpanId: string | undefined,
    readonly name: string,
    readonly plugin: string,
    readonly method: string,
    readonly caller: string,
    readonly node: string,
  ) {
    this.traceparent = formatTraceparent(traceId, spanId, true);
    this.t0 = performance.now();
    this.startTime = performance.timeOrigin + this.t0;
  }

  /** The wire shape (SpanView). */
  view(): SpanView {
    const v: SpanView = {
      spanId: this.spanId,
      ...(this.parentSpanId ? { parentSpanId: this.parentSpanId } : {}),
      name: this.name,
      plugin: this.plugin,
      method: this.method,
      ...(this.instance ? { instance: this.instance } : {}),
      node: this.node,
      caller: this.caller,
      startTime: round3(this.startTime),
      durationMs: round3(this.durationMs),
      queueWaitMs: round3(this.queueWaitMs),
      outcome: this.outcome,
      ...(this.errorCode !== undefined ? { errorCode: this.errorCode } : {}),
    };
    return v;
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
