/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` header
 * "00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>", and the ids the daemon makes.
 *
 * A traceparent that breaks the rules is never an error: the caller's trace is ignored and a new
 * one starts (the spec's "restart the trace"). Only lowercase hex is valid, ids may not be all
 * zeros, version ff is invalid; a later version is read by its version-00 prefix when what
 * follows it starts with "-" (the spec's forward compatibility).
 */
import { randomFillSync } from "node:crypto";

/** Longer than any real header (55 characters plus a future version's extra fields): ignored. */
export const MAX_TRACEPARENT_LENGTH = 512;

const SHAPE = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}/;
const ZERO_TRACE = "00000000000000000000000000000000";
const ZERO_SPAN = "0000000000000000";
/** Flag digits whose lowest bit (sampled) is set. */
const SAMPLED_DIGITS = "13579bdf";

/** A parsed traceparent. */
export interface TraceContext {
  traceId: string;
  /** The caller's span: the parent of the span this call makes. */
  spanId: string;
  sampled: boolean;
}

/** Whether `value` is a traceparent this daemon accepts (see the file comment). Allocates nothing. */
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
  return { traceId: value.slice(3, 35), spanId: value.slice(36, 52), sampled: sampledFlag(value) };
}

/** The version-00 traceparent of a span. */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`;
}

// Ids come from one pooled buffer of random bytes, refilled when used up: one randomFillSync per
// 512 span ids instead of one crypto call (and one Buffer) per id.
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let used = POOL_BYTES;

function randomHex(bytes: number, zero: string): string {
  for (;;) {
    if (used + bytes > POOL_BYTES) {
      randomFillSync(pool);
      used = 0;
    }
    const id = pool.toString("hex", used, used + bytes);
    used += bytes;
    if (id !== zero) return id;
  }
}

/** A random 16-byte trace id, 32 lowercase hex, never all zeros. */
export function newTraceId(): string {
  return randomHex(16, ZERO_TRACE);
}

/** A random 8-byte span id, 16 lowercase hex, never all zeros. */
export function newSpanId(): string {
  return randomHex(8, ZERO_SPAN);
}
