/**
 * The tracer: decides per routed call whether it is recorded (parent-based sampling), makes the
 * traceparent the plugin receives, and hands finished spans to the trace buffer and the exporter.
 *
 * Cheap on purpose: an unsampled call makes no Span, only the id strings it must pass on (none at
 * all when a valid unsampled traceparent came with it: that one is passed on unchanged, which the
 * W3C spec allows a participant that records nothing).
 */
import type { TracingSettings } from "../config/index.js";
import { epochNow, outcomeOf, Span } from "./span.js";
import { TraceBuffer } from "./trace-buffer.js";
import { sampledFlag, validTraceparent } from "@bkg/protocol";
import { newTraceparent } from "./trace-context.js";

/** A call's span context reserved before the call is routed (Tracer.reserve). */
export interface OwnSpan {
  /** What the call's plugin will receive: the call's trace, its span as the parent. */
  traceparent: string;
  /** Epoch ms, fractional: when the call's span starts. */
  startTime: number;
}

/** Receives every finished sampled span (the OTLP exporter). Synchronous, cheap, never throws. */
export interface SpanSink {
  onEnd(span: Span): void;
}

export class Tracer {
  readonly buffer: TraceBuffer;
  /** Set when telemetry.otlp names a collector. */
  sink?: SpanSink;
  /** Spans recorded since the start. */
  recorded = 0;
  private readonly ratio: number;

  constructor(
    settings: Pick<TracingSettings, "sampleRatio" | "bufferTraces" | "spansPerTrace">,
    /** This daemon's node id, on every span. */
    readonly node: string,
    private readonly random: () => number = Math.random,
  ) {
    this.ratio = settings.sampleRatio;
    this.buffer = new TraceBuffer(settings.bufferTraces, settings.spansPerTrace);
  }

  /**
   * Starts a call's trace. `incoming` is the caller's traceparent (any value: a malformed or
   * oversized one is ignored and a new trace starts). Returns a Span when the call is sampled,
   * else the traceparent to pass on. `own`: the call's span context, reserved by `reserve`
   * before the call was routed (its sampling decided then).
   */
  begin(incoming: string | undefined, name: string, caller: string, own?: OwnSpan): Span | string {
    if (own !== undefined) {
      if (!sampledFlag(own.traceparent)) return own.traceparent;
      const span = new Span(own.traceparent, validTraceparent(incoming) ? incoming.slice(36, 52) : undefined, name, caller, this.node);
      span.startTime = own.startTime;
      return span;
    }
    if (validTraceparent(incoming)) {
      // Parent-based: the caller decided. Its unsampled context goes on as it came.
      if (!sampledFlag(incoming)) return incoming;
      return new Span(newTraceparent(true, incoming), incoming.slice(36, 52), name, caller, this.node);
    }
    if (this.ratio < 1 && !(this.random() < this.ratio)) return newTraceparent(false);
    return new Span(newTraceparent(true), undefined, name, caller, this.node);
  }

  /**
   * A call's span context made before it is routed, for work the daemon does on the call's
   * behalf first (checking its credential with the auth plugin): that work passes
   * `own.traceparent` on and becomes a child of the call's span, which starts now. Sampling is
   * decided here as `begin` would; hand the result to `begin` (RouteOptions.ownSpan).
   */
  reserve(incoming: string | undefined): OwnSpan {
    let traceparent: string;
    if (validTraceparent(incoming)) traceparent = sampledFlag(incoming) ? newTraceparent(true, incoming) : incoming;
    else traceparent = newTraceparent(!(this.ratio < 1) || this.random() < this.ratio);
    return { traceparent, startTime: epochNow() };
  }

  /** Ends a sampled call's span with its wire code (0 on success). Exactly once per span. */
  end(span: Span, code: number): void {
    span.durationMs = epochNow() - span.startTime;
    span.outcome = outcomeOf(code);
    if (code !== 0) span.errorCode = code;
    this.recorded++;
    this.buffer.add(span);
    this.sink?.onEnd(span);
  }
}
