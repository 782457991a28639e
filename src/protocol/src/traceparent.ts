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

const DASH = 0x2d;
const ZERO = 0x30;
/** Char code -> 1 for lowercase hex digits; read only below 128. */
const HEX_DIGIT = new Uint8Array(128);
for (const c of "0123456789abcdef") HEX_DIGIT[c.charCodeAt(0)] = 1;

/**
 * Whether `s` holds lowercase hex from `from` to `to`: 1 when some digit is not "0", 0 when all
 * are, -1 when one is not lowercase hex. A loop over char codes, not a regular expression: this
 * runs for every call that comes with a traceparent (each cross-node call), and the expression
 * cost ~0.5 µs per value against ~0.1 µs for the loop (docs/benchmarks.md, cluster).
 */
function hexRun(s: string, from: number, to: number): -1 | 0 | 1 {
  let nonZero = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || HEX_DIGIT[c] === 0) return -1;
    nonZero |= c ^ ZERO;
  }
  return nonZero === 0 ? 0 : 1;
}
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
  // "vv-<32 hex trace id>-<16 hex span id>-<2 hex flags>"; the ids may not be all zeros.
  if (value.charCodeAt(2) !== DASH || value.charCodeAt(35) !== DASH || value.charCodeAt(52) !== DASH) return false;
  if (hexRun(value, 0, 2) < 0 || hexRun(value, 53, 55) < 0 || hexRun(value, 3, 35) < 1 || hexRun(value, 36, 52) < 1) return false;
  const v0 = value.charCodeAt(0);
  const v1 = value.charCodeAt(1);
  if (v0 === 0x66 && v1 === 0x66) return false; // version ff
  if (v0 === ZERO && v1 === ZERO) return value.length === 55;
  return value.length === 55 || value.charCodeAt(55) === DASH;
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
