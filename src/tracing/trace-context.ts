/**
 * The ids the daemon makes for traces and spans; parsing and formatting `traceparent` is
 * @bkg/protocol's (shared with the TypeScript SDK).
 */
import { randomFillSync } from "node:crypto";

export { formatTraceparent, MAX_TRACEPARENT_LENGTH, parseTraceparent, sampledFlag, validTraceparent, type TraceContext } from "@bkg/protocol";

const ZERO_TRACE = "00000000000000000000000000000000";
const ZERO_SPAN = "0000000000000000";

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

/**
 * A new trace's ids in one go: 48 lowercase hex, the trace id (32) then the span id (16), neither
 * all zeros. One hex conversion instead of two: this runs for every call that starts a trace.
 */
export function newTraceAndSpanIds(): string {
  for (;;) {
    const ids = randomHex(24, "");
    if (!ids.startsWith(ZERO_TRACE) && !ids.endsWith(ZERO_SPAN)) return ids;
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
