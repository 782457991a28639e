/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` value
 * "00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>", shared by the daemon and the
 * TypeScript SDK.
 *
 * A value that breaks the rules is never an error: it is ignored (the daemon starts a new trace).
 * Only lowercase hex is valid, ids may not be all zeros, version ff is invalid; a later version is
 * read by its version-00 prefix when what follows it starts with "-" (the spec's forward
 * compatibility).
 */

/** Longer than any real value (55 characters plus a future version's extra fields): ignored. */
export const MAX_TRACEPARENT_LENGTH = 512;

const SHAPE = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}/;
const ZERO_TRACE = "00000000000000000000000000000000";
const ZERO_SPAN = "0000000000000000";
/** Flag digits whose lowest bit (sampled) is set. */
const SAMPLED_DIGITS = "13579bdf";

/** A call's trace as a plugin sees it (ctx.trace in the SDKs). */
export interface TraceContext {
  traceId: string;
  /** The span of the call being served: the parent of whatever the plugin calls next. */
  spanId: string;
  /** The value itself, to pass on. */
  traceparent: string;
  /** Whether the trace is recorded (flag 01). */
  sampled: boolean;
}

/** Whether `value` is a traceparent the rules accept (see the file comment). Allocates nothing. */
export function validTraceparent(value: unknown): value is string {
  if (typeof value !== "string" || value.length < 55 || value.length > MAX_TRACEPARENT_LENGTH) return false;
  if (!SHAPE.test(value)) return false;
  const version = value.slice(0, 2);
  if (version === "ff") return false;
  if (version === "00" ? value.length !== 55 : value.length > 55 && value[55] !== "-") return false;
  return !value.startsWith(ZERO_TRACE, 3) && !value.startsWith(ZERO_SPAN, 36);
}

/** The sampled flag of a valid traceparent. */
export function sampledFlag(valid: string): boolean {
  return SAMPLED_DIGITS.includes(valid[54]);
}

/** The trace context of `value`, or undefined when it is absent, malformed or oversized. */
export function parseTraceparent(value: unknown): TraceContext | undefined {
  if (!validTraceparent(value)) return undefined;
  return { traceId: value.slice(3, 35), spanId: value.slice(36, 52), traceparent: value, sampled: sampledFlag(value) };
}

/** The version-00 traceparent of a span. */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`;
}
