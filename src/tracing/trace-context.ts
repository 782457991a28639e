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

const HEX = Buffer.from("0123456789abcdef", "latin1");
/** The traceparent being written: version 00, dashes in place; ids and flags filled per call. */
const TP = Buffer.from("00-00000000000000000000000000000000-0000000000000000-00", "latin1");
const ZERO = 0x30;

/** Writes `count` pooled random bytes as hex into TP from `at`; true when every byte was zero. */
function hexFromPool(count: number, at: number): boolean {
  let zeros = true;
  for (let i = 0; i < count; i++, at += 2) {
    const b = pool[used++];
    if (b !== 0) zeros = false;
    TP[at] = HEX[b >> 4];
    TP[at + 1] = HEX[b & 15];
  }
  return zeros;
}

/**
 * A new traceparent (version 00) for a new span: a new span id, and the trace id of `sameTraceAs`
 * (a valid traceparent) or a new one. Written into a buffer and read out as one flat string:
 * built from slices and a template, it was a rope that every JSON.stringify of the call's _meta
 * had to flatten again, which cost more than making the ids.
 */
export function newTraceparent(sampled: boolean, sameTraceAs?: string): string {
  for (;;) {
    const bytes = sameTraceAs === undefined ? 24 : 8;
    if (used + bytes > POOL_BYTES) {
      randomFillSync(pool);
      used = 0;
    }
    if (sameTraceAs === undefined) {
      if (hexFromPool(16, 3)) continue; // an all-zero trace id is invalid
    } else {
      for (let at = 3; at < 35; at++) TP[at] = sameTraceAs.charCodeAt(at);
    }
    if (hexFromPool(8, 36)) continue; // so is an all-zero span id
    TP[53] = ZERO;
    TP[54] = sampled ? ZERO + 1 : ZERO;
    return TP.toString("latin1", 0, 55);
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
