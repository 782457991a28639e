/**
 * Where the benchmark finds all-MiniLM-L6-v2 and its sentences. The model is not fetched here:
 * the tests pull it into their cache (outside the repo), and a user's own store can be named.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./paths.js";

export const MINILM = "all-minilm-l6-v2";

/**
 * A models dir holding all-minilm-l6-v2 (model.json + files), or undefined: $BKG_BENCH_MODELS_DIR,
 * then the test caches (test/helpers/models.ts's, then the embeddings tests' own).
 */
export function findMinilmModelsDir(): string | undefined {
  const cache = process.env.BKG_TEST_CACHE ?? join(homedir(), ".cache", "bkg");
  const candidates = [process.env.BKG_BENCH_MODELS_DIR, join(cache, "test-models"), join(cache, "test-models-embeddings")];
  return candidates.find((dir): dir is string => Boolean(dir) && existsSync(join(dir!, MINILM, "model.json")));
}

/** The model's files, from its model.json. */
export function minilmFiles(modelsDir: string): { model: string; tokenizer: string } {
  const record = JSON.parse(readFileSync(join(modelsDir, MINILM, "model.json"), "utf8")) as { files: { model: string; tokenizer: string } };
  return { model: join(modelsDir, MINILM, record.files.model), tokenizer: join(modelsDir, MINILM, record.files.tokenizer) };
}

/** n real sentences (the retrieval set's documents, one or two sentences each, cycled). */
export function benchSentences(n: number): string[] {
  const docs = readFileSync(join(ROOT, "test", "fixtures", "retrieval", "documents.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { text: string }).text);
  return Array.from({ length: n }, (_, i) => docs[i % docs.length]);
}
