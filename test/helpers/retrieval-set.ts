/**
 * The judged retrieval set in test/fixtures/retrieval (see its README.md): 208 documents in 26
 * topical clusters, 52 queries (a paraphrase and an exact-term query per cluster) and graded
 * judgements. For retrieval-quality tests (BrainML's nDCG@10 of fts, vector and hybrid).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./daemon.js";
import type { Judgements } from "./ndcg.js";

export const RETRIEVAL_DIR = join(ROOT, "test", "fixtures", "retrieval");

export interface RetrievalDocument {
  id: string;
  topic: string;
  text: string;
}

export interface RetrievalQuery {
  id: string;
  /** paraphrase: worded unlike its answer (dense retrieval's case); exact-term: names a rare code only its answer holds (full text's case). */
  kind: "paraphrase" | "exact-term";
  topic: string;
  text: string;
}

export interface RetrievalSet {
  documents: RetrievalDocument[];
  queries: RetrievalQuery[];
  /** query id -> document id -> grade (2 answers the query, 1 same topic). */
  qrels: Record<string, Judgements>;
}

const jsonl = <T>(file: string): T[] =>
  readFileSync(join(RETRIEVAL_DIR, file), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);

/** Reads the committed set (synchronously; a few kilobytes). */
export function loadRetrievalSet(): RetrievalSet {
  return {
    documents: jsonl<RetrievalDocument>("documents.jsonl"),
    queries: jsonl<RetrievalQuery>("queries.jsonl"),
    qrels: JSON.parse(readFileSync(join(RETRIEVAL_DIR, "qrels.json"), "utf8")) as Record<string, Judgements>,
  };
}
