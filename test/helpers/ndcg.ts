/**
 * nDCG@k for graded relevance, as BEIR reports it (pytrec_eval / trec_eval's ndcg_cut): gain is
 * the grade itself, discounted by log2(rank + 1); the ideal ranking sorts every judged document
 * by grade. A document id that appears again lower in a ranking (another chunk of the same
 * document) counts once, at its best rank.
 */

/** Graded judgements of one query: document id -> grade (0 or absent = not relevant). */
export type Judgements = Record<string, number>;

/** nDCG@k of one ranking (best first), in [0, 1]. A query with no relevant document scores 0. */
export function ndcgAtK(ranked: readonly string[], judgements: Judgements, k = 10): number {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  const seen = new Set<string>();
  let dcg = 0;
  let rank = 0;
  for (const id of ranked) {
    if (seen.has(id)) continue;
    seen.add(id);
    rank++;
    if (rank > k) break;
    dcg += (judgements[id] ?? 0) / Math.log2(rank + 1);
  }
  const ideal = Object.values(judgements)
    .filter((g) => g > 0)
    .sort((a, b) => b - a)
    .slice(0, k)
    .reduce((sum, g, i) => sum + g / Math.log2(i + 2), 0);
  return ideal === 0 ? 0 : dcg / ideal;
}

/**
 * Mean nDCG@k over every judged query. A judged query missing from `rankings` scores 0 (a system
 * that answers nothing is not rewarded); a ranking for an unjudged query is an error.
 */
export function meanNdcgAtK(rankings: Record<string, readonly string[]>, qrels: Record<string, Judgements>, k = 10): number {
  for (const q of Object.keys(rankings)) if (!(q in qrels)) throw new Error(`query ${q} has a ranking but no judgements`);
  const queries = Object.keys(qrels);
  if (queries.length === 0) throw new Error("no judged queries");
  return queries.reduce((sum, q) => sum + ndcgAtK(rankings[q] ?? [], qrels[q], k), 0) / queries.length;
}
