/**
 * OTLP/HTTP (JSON) export of sampled spans with OpenTelemetry's own SDK: its BatchSpanProcessor
 * and OTLPTraceExporter. Loaded only when telemetry.otlp.endpoint is set (a dynamic import), so a
 * daemon without a collector never reads OpenTelemetry's modules.
 *
 * The daemon's spans are handed over as ReadableSpans built from its own records, so the trace
 * id, span id and parent span id the plugins saw are the ones the collector receives (the OTel
 * tracer API would make its own ids).
 *
 * A collector that is down or slow never slows a call: onEnd only queues (bounded by queueSize);
 * a span that finds the queue full, and every span of an export that fails or times out, is
 * dropped and counted (`dropped`, exported as bkg_trace_spans_dropped_total).
 */
import type { HrTime } from "@opentelemetry/api";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { OtlpSettings } from "../config/index.js";
import type { Span } from "./span.js";
import type { SpanSink } from "./tracer.js";

export interface OtlpExport extends SpanSink {
  /** Spans dropped: queue full, or their export failed or timed out. */
  readonly dropped: number;
  /** Spans the collector accepted. */
  readonly exported: number;
  /** Sends what is queued (within the export timeout), then stops. Idempotent. */
  shutdown(): Promise<void>;
}

export interface OtlpExportOptions {
  version: string;
  node: string;
  /** A failed export, at most once a minute (the count is in the metric). */
  warn(msg: string): void;
}

const WARN_EVERY_MS = 60_000;
/** How long a stopping daemon waits for the last export at most. */
const SHUTDOWN_WAIT_MS = 3_000;
/** SpanKind.SERVER, StatusCode UNSET/ERROR, TraceFlags.SAMPLED (@opentelemetry/api's enums). */
const SERVER = 1;
const STATUS_UNSET = 0;
const STATUS_ERROR = 2;
const SAMPLED = 1;

function hrTime(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

/** Starts the exporter (loads OpenTelemetry). Rejects only when its modules cannot be loaded. */
export async function startOtlpExport(settings: OtlpSettings, o: OtlpExportOptions): Promise<OtlpExport> {
  const [{ BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { ExportResultCode }] = await Promise.all([
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/core"),
  ]);
  const resource = resourceFromAttributes({ "service.name": "bkg", "service.version": o.version, "service.instance.id": o.node });
  const scope = { name: "bkg", version: o.version };
  const otlp = new OTLPTraceExporter({ url: settings.endpoint, headers: settings.headers, timeoutMillis: settings.timeoutMs });

  let queued = 0;
  let dropped = 0;
  let exported = 0;
  let warnedAt = 0;
  // Counts what leaves the processor's queue and what the collector made of it.
  const counting: SpanExporter = {
    export(spans, done) {
      queued -= spans.length;
      otlp.export(spans, (r) => {
        if (r.code === ExportResultCode.SUCCESS) exported += spans.length;
        else {
          dropped += spans.length;
          const now = Date.now();
          if (now - warnedAt >= WARN_EVERY_MS) {
            warnedAt = now;
            o.warn(`trace export to ${settings.endpoint} failed (${r.error?.message ?? "no answer"}); ${spans.length} span(s) dropped, counted in bkg_trace_spans_dropped_total`);
          }
        }
        done(r);
      });
    },
    shutdown: () => otlp.shutdown(),
    forceFlush: () => otlp.forceFlush(),
  };
  const processor = new BatchSpanProcessor(counting, {
    maxQueueSize: settings.queueSize,
    maxExportBatchSize: Math.min(settings.batchSize, settings.queueSize),
    scheduledDelayMillis: settings.delayMs,
    // The exporter's own timeout decides; this only frees the processor if it never calls back.
    exportTimeoutMillis: settings.timeoutMs + 1000,
  });

  let stopping: Promise<void> | undefined;
  return {
    get dropped() {
      return dropped;
    },
    get exported() {
      return exported;
    },
    onEnd(span: Span) {
      if (stopping) return;
      if (queued >= settings.queueSize) {
        dropped++;
        return;
      }
      queued++;
      processor.onEnd(toReadableSpan(span, resource, scope));
    },
    shutdown() {
      // A collector that does not answer may not hold the daemon's stop for long.
      stopping ??= new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(settings.timeoutMs, SHUTDOWN_WAIT_MS));
        timer.unref();
        processor.shutdown().then(resolve, resolve);
      });
      return stopping;
    },
  };
}

function toReadableSpan(s: Span, resource: ReadableSpan["resource"], instrumentationScope: ReadableSpan["instrumentationScope"]): ReadableSpan {
  const context = { traceId: s.traceId, spanId: s.spanId, traceFlags: SAMPLED };
  const attributes: ReadableSpan["attributes"] = {
    "rpc.system": "jsonrpc",
    "rpc.service": s.plugin,
    "rpc.method": s.method,
    "bkg.plugin": s.plugin,
    "bkg.method": s.method,
    "bkg.node": s.node,
    "bkg.caller": s.caller,
    "bkg.queue_wait_ms": s.queueWaitMs,
    "bkg.outcome": s.outcome,
  };
  if (s.instance) attributes["bkg.instance"] = s.instance;
  if (s.errorCode !== undefined) attributes["bkg.error_code"] = s.errorCode;
  return {
    name: s.name,
    kind: SERVER,
    spanContext: () => context,
    parentSpanContext: s.parentSpanId ? { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: SAMPLED, isRemote: true } : undefined,
    startTime: hrTime(s.startTime),
    endTime: hrTime(s.startTime + s.durationMs),
    duration: hrTime(s.durationMs),
    status: s.outcome === "ok" ? { code: STATUS_UNSET } : { code: STATUS_ERROR, message: `${s.outcome}${s.errorCode === undefined ? "" : ` (${s.errorCode})`}` },
    attributes,
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationScope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
