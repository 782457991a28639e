/**
 * Retrieval quality on the judged set in test/fixtures/retrieval (260 documents, 52 queries with
 * graded judgements; its README says how it was made), with the real MiniLM model through the
 * real embeddings plugin, on both backends: mean nDCG@10 of fts, vector and hybrid, and hybrid at
 * least as good as the better of the two.
 */
import t from "tap";
import { onEachBackendWithEmbeddings } from "../../helpers/brainml.js";
import { meanNdcgAtK } from "../../helpers/ndcg.js";
import { loadRetrievalSet } from "../../helpers/retrieval-set.js";

const set = loadRetrievalSet();
await onEachBackendWithEmbeddings(t, "retrieval", async (t, d, backend) => {
  await d.client.call("brainml.collections.create", { name: "judged" });
  const indexed = await d.client.call<{ documents: number; chunks: number }>("brainml.index", {
    collection: "judged",
    documents: set.documents.map((x) => ({ id: x.id, text: x.text, metadata: { topic: x.topic } })),
  });
  t.equal(indexed.documents, set.documents.length);
  t.ok(set.documents.length >= 200 && set.queries.length >= 50, `${set.documents.length} documents, ${set.queries.length} queries`);

  const scores: Record<string, number> = {};
  for (const mode of ["fts", "vector", "hybrid"] as const) {
    const rankings: Record<string, string[]> = {};
    for (const q of set.queries) {
      const a = await d.client.call<{ results: Array<{ document: { id: string } }> }>("brainml.query", { collection: "judged", query: q.text, mode, topK: 10 });
      rankings[q.id] = a.results.map((r) => r.document.id);
    }
    scores[mode] = meanNdcgAtK(rankings, set.qrels, 10);
  }
  t.comment(`${backend.name} nDCG@10: fts ${scores.fts.toFixed(3)}, vector ${scores.vector.toFixed(3)}, hybrid ${scores.hybrid.toFixed(3)}`);
  t.ok(scores.vector > 0.5 && scores.fts > 0.3, "both modes retrieve (a broken one would score near 0)");
  t.ok(scores.hybrid >= Math.max(scores.fts, scores.vector), `hybrid ${scores.hybrid.toFixed(3)} >= max(fts ${scores.fts.toFixed(3)}, vector ${scores.vector.toFixed(3)})`);
});
