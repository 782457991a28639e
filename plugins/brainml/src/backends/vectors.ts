/** Float32 vectors to and from the bytes both databases store, and the scores BrainML reports. */
import type { Metric } from "../types.js";

export function toBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function fromBlob(b: Uint8Array): Float32Array {
  // Copy: the driver's buffer may be reused, and Float32Array needs 4-byte alignment.
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer);
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** A distance as a score where higher is better: cosine similarity, 1/(1+L2), or the inner product. */
export function scoreOf(metric: Metric, distance: number): number {
  if (metric === "cosine") return 1 - distance;
  if (metric === "l2") return 1 / (1 + distance);
  return -distance; // ip: the engines order by the negative inner product
}
