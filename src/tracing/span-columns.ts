/**
 * The trace buffer's finished spans, one slot each in typed arrays (columns) instead of one object
 * each: a span waiting in the buffer is a few numbers in memory the garbage collector never walks
 * or copies. Kept as objects, the spans of 1000 traces were most of what a sampled call cost
 * (each one young, copied at every scavenge until promoted, then carried by the old generation).
 *
 * Slots are reused through a free list; the columns double when full, up to `maxSpans`.
 */
import type { SpanOutcome } from "./span.js";

export const NONE = -1;
/** Per slot in `ids`: the span id's 16 hex characters, then the parent span id's 16 (as char codes). */
export const IDS = 32;
/** Per slot in `strs`: string table indices, one per column below. */
export const STRS = 4;
export const NAME = 0;
export const CALLER = 1;
export const INSTANCE = 2;
export const NODE = 3;

export const OUTCOMES: readonly SpanOutcome[] = ["ok", "error", "cancelled", "timeout"];
/** Bit in `flags`: the span has a parent span id. */
export const HAS_PARENT = 1;

export class SpanColumns {
  capacity: number;
  /** Epoch ms, fractional. */
  start: Float64Array;
  duration: Float64Array;
  queueWait: Float64Array;
  ids: Uint8Array;
  /** `ids` as a Buffer (same memory), to read ids back as strings. */
  idText: Buffer;
  strs: Int32Array;
  /** The wire error code; 0 when the outcome is ok. */
  code: Int32Array;
  /** An index into OUTCOMES. */
  outcome: Uint8Array;
  flags: Uint8Array;
  /** The next span of the same trace, or of the free list; NONE ends either. */
  next: Int32Array;
  private used = 0;
  private freeHead = NONE;

  constructor(
    initial: number,
    private readonly maxSpans: number,
  ) {
    this.capacity = Math.max(1, Math.min(initial, maxSpans));
    this.start = new Float64Array(this.capacity);
    this.duration = new Float64Array(this.capacity);
    this.queueWait = new Float64Array(this.capacity);
    this.ids = new Uint8Array(this.capacity * IDS);
    this.idText = Buffer.from(this.ids.buffer, this.ids.byteOffset, this.ids.byteLength);
    this.strs = new Int32Array(this.capacity * STRS);
    this.code = new Int32Array(this.capacity);
    this.outcome = new Uint8Array(this.capacity);
    this.flags = new Uint8Array(this.capacity);
    this.next = new Int32Array(this.capacity);
  }

  /**
   * A free slot, or NONE when the columns cannot grow (memory refused a huge
   * bufferTraces x spansPerTrace): the span is then counted as dropped, never a failed call.
   */
  take(): number {
    const s = this.freeHead;
    if (s !== NONE) {
      this.freeHead = this.next[s];
      return s;
    }
    if (this.used === this.capacity && !this.grow()) return NONE;
    return this.used++;
  }

  /** Gives slot `s` back (its strings must have been released already). */
  release(s: number): void {
    this.next[s] = this.freeHead;
    this.freeHead = s;
  }

  /** The span id (which = 0) or parent span id (which = 1) of slot `s`, as hex. */
  id(s: number, which: 0 | 1): string {
    const at = s * IDS + which * 16;
    return this.idText.toString("latin1", at, at + 16);
  }

  private grow(): boolean {
    const n = Math.min(this.capacity * 2, this.maxSpans);
    if (n <= this.capacity) return false;
    try {
      this.resize(n);
      return true;
    } catch {
      return false; // a RangeError: no memory for columns that large
    }
  }

  /** Every column made first, then swapped in: a failed allocation leaves the old ones whole. */
  private resize(n: number): void {
    const start = copied(this.start, new Float64Array(n));
    const duration = copied(this.duration, new Float64Array(n));
    const queueWait = copied(this.queueWait, new Float64Array(n));
    const ids = copied(this.ids, new Uint8Array(n * IDS));
    const strs = copied(this.strs, new Int32Array(n * STRS));
    const code = copied(this.code, new Int32Array(n));
    const outcome = copied(this.outcome, new Uint8Array(n));
    const flags = copied(this.flags, new Uint8Array(n));
    const next = copied(this.next, new Int32Array(n));
    Object.assign(this, { start, duration, queueWait, ids, strs, code, outcome, flags, next, capacity: n });
    this.idText = Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength);
  }
}

function copied<T extends Float64Array | Int32Array | Uint8Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}
