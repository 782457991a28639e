/**
 * One routed call's span, as the daemon records it. SpanView is the wire shape of
 * GET /api/traces/:traceId (a contract: the dashboard reads it).
 */
import { ErrorCodes } from "@bkg/protocol";

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

/** performance.timeOrigin, read once: a getter that cost ~50 ns, twice per span. */
const TIME_ORIGIN = performance.timeOrigin;

/** Epoch ms, fractional, with performance.now()'s resolution. */
export function epochNow(): number {
  return TIME_ORIGIN + performance.now();
}

/** The outcome of a call that ended with wire code `code` (0: success). */
export function outcomeOf(code: number): SpanOutcome {
  if (code === 0) return "ok";
  if (code === ErrorCodes.RequestCancelled) return "cancelled";
  if (code === ErrorCodes.DeadlineExceeded) return "timeout";
  return "error";
}

/**
 * A sampled call's span while it runs. Made only for sampled calls; the router writes
 * `queueWaitMs` and `instance` when a slot is taken, the tracer the rest when the call ends, and
 * the OTLP exporter (when configured) reads it once ended.
 */
export class Span {
  /** Epoch ms, fractional (epochNow()); earlier for a reserved span. */
  startTime: number;
  durationMs = 0;
  queueWaitMs = 0;
  instance?: string;
  outcome: SpanOutcome = "ok";
  errorCode?: number;

  // Lives only while its call runs: the trace buffer copies what it keeps into its columns
  // (trace-buffer.ts), so a Span dies young, which costs the garbage collector next to nothing.
  // The ids live in `traceparent` (one flat string), plugin and method in `name`.
  constructor(
    /** What the plugin receives in _meta.traceparent: this trace, this span as the parent. */
    readonly traceparent: string,
    readonly parentSpanId: string | undefined,
    /** "plugin.method" */
    readonly name: string,
    readonly caller: string,
    readonly node: string,
  ) {
    this.startTime = epochNow();
  }

  get traceId(): string {
    return this.traceparent.slice(3, 35);
  }
  get spanId(): string {
    return this.traceparent.slice(36, 52);
  }
  get plugin(): string {
    return this.name.slice(0, this.name.indexOf("."));
  }
  get method(): string {
    return this.name.slice(this.name.indexOf(".") + 1);
  }
}
