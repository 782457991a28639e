/**
 * brainml.query: full-text, vector or hybrid search over a collection's chunks. Hybrid runs both
 * searches for `hybridCandidates x topK` candidates each and fuses them with reciprocal rank
 * fusion. If the embedder is down, a hybrid query still answers from full text and says so in
 * `warnings`.
 */
import type { Brain } from "../brain.js";
import { queryTerms } from "../chunking/tokens.js";
import { embedTexts, type CallFn } from "../embedder.js";
import { brainError, messageOf } from "../errors.js";
import type { Filter, Hit, SearchMode, TextMatch } from "../types.js";
import { checkFilters } from "./filters.js";
import { reciprocalRankFusion } from "./fusion.js";
import { highlight } from "./highlights.js";

export interface QueryParams {
  collection: string;
  query?: string;
  vector?: number[];
  mode?: SearchMode;
  topK?: number;
  filters?: Filter[];
  /** RRF's k for this query (default: config rrfK, 60). */
  rrfK?: number;
  /** Per-mode weights in the fusion (default 1 each). */
  weights?: { fts?: number; vector?: number };
  /** Full text: "all" (default) needs every query word in a chunk, "any" one of them. */
  match?: TextMatch;
  /** Vector search without the approximate index (PostgreSQL's HNSW); SQLite is always exact. */
  exact?: boolean;
}

export interface QueryResult {
  id: string;
  chunk: { index: number; text: string; heading?: string };
  score: number;
  rank: number;
  document: { id: string; metadata: Record<string, unknown> };
  highlights: string[];
  /** Hybrid only: the chunk's rank in each mode that found it. */
  ranks?: Record<string, number>;
}

export async function runQuery(brain: Brain, call: CallFn, p: QueryParams): Promise<{ results: QueryResult[]; mode: SearchMode; latencyMs: number; warnings?: string[] }> {
  const started = performance.now();
  const c = await brain.collection(p.collection);
  const mode = p.mode ?? "hybrid";
  const topK = p.topK ?? 10;
  const filters = p.filters ?? [];
  const text = p.query?.trim() ?? "";
  if (filters.length) checkFilters(filters, await brain.backend.metadataFields(c));
  if (p.vector && p.vector.length !== c.dimensions) {
    throw brainError("dimension_mismatch", `vector has ${p.vector.length} dimensions; collection "${c.name}" holds ${c.dimensions}`, { expected: c.dimensions, got: p.vector.length });
  }
  if (mode === "fts" && !text) throw brainError("query_missing", 'mode "fts" needs query (the text to search for)');
  if (mode !== "fts" && !text && !p.vector) throw brainError("query_missing", `mode "${mode}" needs query (text) or vector`);
  const terms = text ? queryTerms(text) : [];
  const warnings: string[] = [];
  const match = p.match ?? "all";

  const vectorOf = async (): Promise<Float32Array> => (p.vector ? Float32Array.from(p.vector) : (await embedTexts(call, c, [text], 1))[0]);
  let ranked: Array<{ docId: string; index: number; score: number; ranks?: Record<string, number> }>;
  if (mode === "fts") {
    ranked = await brain.backend.searchText(c, terms, topK, filters, match);
  } else if (mode === "vector") {
    ranked = await brain.backend.searchVector(c, await vectorOf(), topK, filters, p.exact);
  } else {
    const n = Math.max(50, topK * brain.config.hybridCandidates);
    const lists: Record<string, Hit[]> = {};
    const [fts, vec] = await Promise.allSettled([
      text ? brain.backend.searchText(c, terms, n, filters, match) : Promise.resolve([]),
      vectorOf().then((v) => brain.backend.searchVector(c, v, n, filters, p.exact)),
    ]);
    if (fts.status === "rejected") throw fts.reason;
    lists.fts = fts.value;
    if (vec.status === "fulfilled") lists.vector = vec.value;
    else if (text && (vec.reason as { data?: { reason?: string } })?.data?.reason === "embedding_failed") {
      warnings.push(`vector search skipped, full-text results only: ${messageOf(vec.reason)}`);
    } else throw vec.reason;
    ranked = reciprocalRankFusion(lists, p.rrfK ?? brain.config.rrfK, { fts: p.weights?.fts ?? 1, vector: p.weights?.vector ?? 1 }).slice(0, topK);
  }

  const views = await brain.backend.chunks(c, ranked);
  const byKey = new Map(views.map((v) => [`${v.docId}\u0000${v.index}`, v]));
  const results: QueryResult[] = [];
  for (const h of ranked) {
    const v = byKey.get(`${h.docId}\u0000${h.index}`);
    if (!v) continue; // deleted between the search and the read
    results.push({
      id: `${h.docId}#${h.index}`,
      chunk: { index: h.index, text: v.text, ...(v.heading ? { heading: v.heading } : {}) },
      score: h.score,
      rank: results.length + 1,
      document: { id: h.docId, metadata: v.metadata },
      highlights: highlight(v.text, terms),
      ...(h.ranks ? { ranks: h.ranks } : {}),
    });
  }
  const latencyMs = Math.round((performance.now() - started) * 100) / 100;
  return { results, mode, latencyMs, ...(warnings.length ? { warnings } : {}) };
}
