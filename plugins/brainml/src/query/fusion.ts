/**
 * Reciprocal rank fusion (Cormack et al. 2009): a chunk's fused score is the sum over the modes
 * that found it of weight / (k + rank), rank counted from 1. k = 60 damps the top ranks so that
 * agreement between the modes counts for more than a first place in one of them.
 */
import type { Hit } from "../types.js";

export interface FusedHit {
  docId: string;
  index: number;
  score: number;
  /** The chunk's rank in each mode that found it. */
  ranks: Record<string, number>;
}

export function reciprocalRankFusion(lists: Record<string, Hit[]>, k: number, weights: Record<string, number>): FusedHit[] {
  const fused = new Map<string, FusedHit>();
  for (const [mode, hits] of Object.entries(lists)) {
    const w = weights[mode] ?? 1;
    hits.forEach((h, i) => {
      const key = `${h.docId}\u0000${h.index}`;
      const entry = fused.get(key) ?? { docId: h.docId, index: h.index, score: 0, ranks: {} };
      entry.score += w / (k + i + 1);
      entry.ranks[mode] = i + 1;
      fused.set(key, entry);
    });
  }
  // Ties (same fused score) keep a stable order: fewer modes' ranks summed lower first.
  return [...fused.values()].sort((a, b) => b.score - a.score || sumRanks(a) - sumRanks(b));
}

const sumRanks = (h: FusedHit) => Object.values(h.ranks).reduce((s, r) => s + r, 0);
