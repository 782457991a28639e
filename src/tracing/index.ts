export { MAX_TRACEPARENT_LENGTH, formatTraceparent, newSpanId, newTraceAndSpanIds, newTraceId, parseTraceparent, validTraceparent, type TraceContext } from "./trace-context.js";
export { Span, outcomeOf, type SpanOutcome, type SpanView } from "./span.js";
export { TraceBuffer, type TraceSummary, type TraceView } from "./trace-buffer.js";
export { Tracer, type SpanSink } from "./tracer.js";
export { startOtlpExport, type OtlpExport, type OtlpExportOptions } from "./otlp-export.js";
