export { MAX_TRACEPARENT_LENGTH, formatTraceparent, newSpanId, newTraceAndSpanIds, newTraceId, newTraceparent, parseTraceparent, validTraceparent, type TraceContext } from "./trace-context.js";
export { Span, outcomeOf, type SpanOutcome, type SpanView } from "./span.js";
export { TraceBuffer, type TraceSummary, type TraceView } from "./trace-buffer.js";
export { Tracer, type OwnSpan, type SpanSink } from "./tracer.js";
export { startOtlpExport, type OtlpExport, type OtlpExportOptions } from "./otlp-export.js";
