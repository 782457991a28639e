/**
 * Latency histograms with log-scale buckets: four buckets per power of two of microseconds,
 * so any percentile read from a histogram is within about 12% of the true value. Recording is
 * integer arithmetic (no Math.log); histograms merge by adding counts, so per-minute rollups
 * combine into any longer window.
 *
 * Bucket i < 4 holds [i, i+1) µs. Above, bucket 4 + 4(e-2) + s holds
 * [(4+s)·2^(e-2), (5+s)·2^(e-2)) µs for e = 2..30, s = 0..3. The last bucket also holds
 * everything longer (≈ 36 minutes and up).
 */

export const BUCKETS = 120;
const MAX_US = 0x7fffffff;

/** The bucket of a duration in milliseconds. NaN and negatives go to bucket 0. */
export function bucketOf(ms: number): number {
  const us = ms * 1000;
  if (!(us >= 4)) return us >= 1 ? us | 0 : 0;
  const v = us >= MAX_US ? MAX_US : us | 0;
  const e = 31 - Math.clz32(v);
  return 4 + ((e - 2) << 2) + ((v >>> (e - 2)) & 3);
}

/** The range [low, high) of a bucket, in milliseconds. */
export function bucketRange(i: number): [number, number] {
  if (i < 4) return [i / 1000, (i + 1) / 1000];
  const e = ((i - 4) >> 2) + 2;
  const s = (i - 4) & 3;
  return [((4 + s) * 2 ** (e - 2)) / 1000, ((5 + s) * 2 ** (e - 2)) / 1000];
}

/** Sparse form for storage and the wire: bucket index -> count, nonzero buckets only. */
export type SparseHistogram = Record<string, number>;

export function toSparse(h: ArrayLike<number>): SparseHistogram {
  const out: SparseHistogram = {};
  for (let i = 0; i < h.length; i++) if (h[i]) out[i] = h[i];
  return out;
}

/** Adds `from` into `into` (dense), returning `into`. */
export function addSparse(into: Float64Array | Uint32Array, from: SparseHistogram): typeof into {
  for (const k in from) {
    const i = Number(k);
    if (i >= 0 && i < BUCKETS) into[i] += from[k];
  }
  return into;
}

export function addDense(into: Float64Array | Uint32Array, from: ArrayLike<number>): typeof into {
  for (let i = 0; i < BUCKETS; i++) into[i] += from[i];
  return into;
}

/**
 * The q-quantile (0 < q ≤ 1) in milliseconds: the middle of the bucket holding the
 * ceil(q·n)-th smallest value. Undefined for an empty histogram.
 */
export function quantile(h: ArrayLike<number>, q: number): number | undefined {
  let n = 0;
  for (let i = 0; i < h.length; i++) n += h[i];
  if (n === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (let i = 0; i < h.length; i++) {
    seen += h[i];
    if (seen >= rank) {
      const [lo, hi] = bucketRange(i);
      return (lo + hi) / 2;
    }
  }
  return undefined;
}

export interface Percentiles {
  p50?: number;
  p90?: number;
  p99?: number;
}

export function percentiles(h: ArrayLike<number>): Percentiles {
  return { p50: quantile(h, 0.5), p90: quantile(h, 0.9), p99: quantile(h, 0.99) };
}
