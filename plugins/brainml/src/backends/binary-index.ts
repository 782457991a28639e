/**
 * An approximate nearest-neighbour index for the SQLite backend: each vector is kept in memory
 * as one bit per dimension (the sign after subtracting the collection's mean vector, so the
 * bits split the data), 48 bytes for 384 dimensions. A query takes the `candidates` vectors
 * with the fewest differing bits (Hamming distance, a scan of a few megabytes) and the caller
 * reranks them by exact distance. sqlite-vec's vec0 scan is exact but reads every float; this
 * makes an unfiltered search at 100k chunks a few milliseconds. Recall is measured by the
 * brainml benchmark against exact search.
 */
export class BinaryIndex {
  private readonly words: number;
  private bits: Uint32Array;
  private rowids: Float64Array;
  private alive: Uint8Array;
  private size = 0;
  private readonly slotOf = new Map<number, number>();

  constructor(
    readonly dimensions: number,
    private readonly mean: Float32Array,
    capacity = 1024,
  ) {
    this.words = Math.ceil(dimensions / 32);
    this.bits = new Uint32Array(capacity * this.words);
    this.rowids = new Float64Array(capacity);
    this.alive = new Uint8Array(capacity);
  }

  get count(): number {
    return this.slotOf.size;
  }

  /** The mean of the given vectors: the centre the sign bits are taken around. */
  static meanOf(vectors: Iterable<Float32Array>, dimensions: number): Float32Array {
    const mean = new Float64Array(dimensions);
    let n = 0;
    for (const v of vectors) {
      for (let i = 0; i < dimensions; i++) mean[i] += v[i];
      n++;
    }
    return Float32Array.from(mean, (x) => (n ? x / n : 0));
  }

  add(rowid: number, v: Float32Array): void {
    this.remove(rowid);
    if (this.size === this.rowids.length) {
      if (this.size - this.slotOf.size > this.size / 2) this.compact();
      else this.grow();
    }
    const slot = this.size++;
    const base = slot * this.words;
    for (let w = 0; w < this.words; w++) {
      let word = 0;
      for (let b = 0; b < 32; b++) {
        const i = w * 32 + b;
        if (i < this.dimensions && v[i] > this.mean[i]) word |= 1 << b;
      }
      this.bits[base + w] = word >>> 0;
    }
    this.rowids[slot] = rowid;
    this.alive[slot] = 1;
    this.slotOf.set(rowid, slot);
  }

  remove(rowid: number): void {
    const slot = this.slotOf.get(rowid);
    if (slot === undefined) return;
    this.alive[slot] = 0;
    this.slotOf.delete(rowid);
  }

  /** Row ids of about `candidates` vectors nearest to v in Hamming distance (all ties at the cut included). */
  candidates(v: Float32Array, candidates: number): number[] {
    const q = new Uint32Array(this.words);
    for (let w = 0; w < this.words; w++) {
      let word = 0;
      for (let b = 0; b < 32; b++) {
        const i = w * 32 + b;
        if (i < this.dimensions && v[i] > this.mean[i]) word |= 1 << b;
      }
      q[w] = word >>> 0;
    }
    const distances = new Uint16Array(this.size);
    const histogram = new Uint32Array(this.dimensions + 2);
    for (let s = 0; s < this.size; s++) {
      if (!this.alive[s]) {
        distances[s] = this.dimensions + 1;
        continue;
      }
      let d = 0;
      const base = s * this.words;
      for (let w = 0; w < this.words; w++) d += popcount(this.bits[base + w] ^ q[w]);
      distances[s] = d;
      histogram[d]++;
    }
    // The smallest distance at which the running count reaches `candidates`.
    let cut = 0;
    for (let seen = 0; cut <= this.dimensions; cut++) {
      seen += histogram[cut];
      if (seen >= candidates) break;
    }
    const out: number[] = [];
    for (let s = 0; s < this.size; s++) if (distances[s] <= cut) out.push(this.rowids[s]);
    return out;
  }

  /** Drops removed slots, keeping the order of the others. */
  private compact(): void {
    let to = 0;
    for (let from = 0; from < this.size; from++) {
      if (!this.alive[from]) continue;
      if (to !== from) {
        this.bits.copyWithin(to * this.words, from * this.words, (from + 1) * this.words);
        this.rowids[to] = this.rowids[from];
        this.alive[to] = 1;
        this.slotOf.set(this.rowids[to], to);
      }
      to++;
    }
    this.alive.fill(0, to, this.size);
    this.size = to;
  }

  private grow(): void {
    const capacity = this.rowids.length * 2;
    const bits = new Uint32Array(capacity * this.words);
    bits.set(this.bits);
    const rowids = new Float64Array(capacity);
    rowids.set(this.rowids);
    const alive = new Uint8Array(capacity);
    alive.set(this.alive);
    this.bits = bits;
    this.rowids = rowids;
    this.alive = alive;
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
