/** Medians, spreads and percentiles: the only statistics the benchmarks report. */

/** A metric over several runs: the median and the min–max spread, plus every sample. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
  samples: number[];
}

export function summarize(samples: number[]): Summary {
  const s = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0, samples: [] };
  return { median: median(s), min: s[0], max: s[s.length - 1], n: s.length, samples: samples.map(round3) };
}

/** Median of a list (sorted or not). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank percentile of an ascending Float64Array's first `n` values; p in [0, 100]. */
export function percentile(sorted: Float64Array | number[], n: number, p: number): number {
  if (n === 0) return NaN;
  const rank = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
  return sorted[rank];
}

/** Ratio of two medians, NaN-safe. */
export function ratio(a: Summary | number, b: Summary | number): number {
  const x = typeof a === "number" ? a : a.median;
  const y = typeof b === "number" ? b : b.median;
  return y ? x / y : NaN;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
