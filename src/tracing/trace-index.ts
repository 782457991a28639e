/**
 * The trace buffer's index from trace id to trace slot, without a JavaScript object per trace:
 * each slot's id (32 hex characters, as their char codes) and hash in typed arrays, and an
 * open-addressing hash table (linear probing, at most half full) of slot numbers.
 */
import { NONE } from "./span-columns.js";

/** A trace id: 32 hex characters. */
export const TRACE_ID = 32;

export class TraceIndex {
  private readonly ids: Uint8Array;
  private readonly hashes: Int32Array;
  private readonly table: Int32Array;
  private readonly mask: number;
  /** Hashes are seeded per daemon so that callers cannot choose trace ids that collide. */
  private readonly seed = (Math.random() * 0x7fffffff) | 0;

  constructor(slots: number) {
    this.ids = new Uint8Array(slots * TRACE_ID);
    this.hashes = new Int32Array(slots);
    let size = 2;
    while (size < slots * 2) size *= 2;
    this.table = new Int32Array(size).fill(NONE);
    this.mask = size - 1;
  }

  /** A seeded FNV-1a hash of the trace id at `from` in `s` (32 characters). */
  hashOf(s: string, from: number): number {
    let h = 0x811c9dc5 ^ this.seed;
    for (let i = from; i < from + TRACE_ID; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return h;
  }

  /** The slot of the trace id at `from` in `s` (its hash is `hash`), or NONE. */
  find(s: string, from: number, hash: number): number {
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const t = this.table[i];
      if (t === NONE) return NONE;
      if (this.hashes[t] === hash && this.sameId(t, s, from)) return t;
    }
  }

  /** Files slot `t` under the trace id at `from` in `s`, which must not be filed yet. */
  insert(t: number, s: string, from: number, hash: number): void {
    const at = t * TRACE_ID;
    for (let i = 0; i < TRACE_ID; i++) this.ids[at + i] = s.charCodeAt(from + i);
    this.hashes[t] = hash;
    let i = hash & this.mask;
    while (this.table[i] !== NONE) i = (i + 1) & this.mask;
    this.table[i] = t;
  }

  /** Takes slot `t` out, shifting later entries back (no tombstones). */
  remove(t: number): void {
    const { table, mask } = this;
    let i = this.hashes[t] & mask;
    while (table[i] !== t) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; table[j] !== NONE; j = (j + 1) & mask) {
      const home = this.hashes[table[j]] & mask;
      // An entry may fill the hole when the hole lies on its probe path (from home to j).
      if (((j - home) & mask) >= ((j - i) & mask)) {
        table[i] = table[j];
        i = j;
      }
    }
    table[i] = NONE;
  }

  /** The trace id of slot `t`. */
  idOf(t: number): string {
    return Buffer.from(this.ids.buffer, this.ids.byteOffset + t * TRACE_ID, TRACE_ID).toString("latin1");
  }

  private sameId(t: number, s: string, from: number): boolean {
    const at = t * TRACE_ID;
    for (let i = 0; i < TRACE_ID; i++) if (this.ids[at + i] !== s.charCodeAt(from + i)) return false;
    return true;
  }
}
