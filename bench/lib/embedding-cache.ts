/**
 * Real MiniLM vectors for benchmark corpora, cached on disk outside the repository
 * (~/.cache/bkg/bench/embeddings/, or $BKG_TEST_CACHE/bench/embeddings/). The texts are cut in
 * blocks of BLOCK; each block's file is keyed by the model file's sha256 and the block's texts,
 * so a rerun reads every finished block, a run stopped half-way resumes at the first missing
 * block, and a change of model or text embeds again. Embedding uses the plugin's own tokenizer
 * and OnnxEmbedder in this process (the vectors are the ones embeddings.embed returns; the bus
 * adds nothing to them and costs time a 100k corpus does not need to spend).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { OnnxEmbedder } from "@bkg/plugin-embeddings/dist/onnx-embedder.js";
import { TextTokenizer } from "@bkg/plugin-embeddings/dist/tokenize.js";
import { minilmFiles, MINILM } from "./embeddings-model.js";

const BLOCK = 2000;
const BATCH = 64;

export interface CachedEmbeddings {
  vectors: Float32Array[];
  dimensions: number;
  /** Texts embedded in this call (0 when everything came from the cache). */
  embedded: number;
  /** Seconds spent embedding them. */
  seconds: number;
}

export function embeddingCacheDir(): string {
  return join(process.env.BKG_TEST_CACHE ?? join(homedir(), ".cache", "bkg"), "bench", "embeddings");
}

/** The vectors of `texts`, in order, from the cache or embedded now (`threads` onnxruntime threads). */
export async function cachedEmbeddings(modelsDir: string, texts: string[], log: (line: string) => void, threads = 1): Promise<CachedEmbeddings> {
  const record = JSON.parse(readFileSync(join(modelsDir, MINILM, "model.json"), "utf8")) as { files: { model: string }; sha256: Record<string, string> };
  const modelKey = record.sha256[record.files.model] ?? "";
  const dir = embeddingCacheDir();
  mkdirSync(dir, { recursive: true });
  const vectors: Float32Array[] = [];
  let embedder: OnnxEmbedder | undefined;
  let tokenizer: TextTokenizer | undefined;
  let dimensions = 0;
  let embedded = 0;
  const started = performance.now();
  try {
    for (let b = 0; b < texts.length; b += BLOCK) {
      const block = texts.slice(b, b + BLOCK);
      const key = createHash("sha256").update(`${MINILM}\n${modelKey}\n`).update(block.join("\n")).digest("hex").slice(0, 32);
      const file = join(dir, `${key}.f32`);
      if (existsSync(file)) {
        const buf = readFileSync(file);
        const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
        dimensions = all.length / block.length;
        for (let i = 0; i < block.length; i++) vectors.push(all.subarray(i * dimensions, (i + 1) * dimensions));
        continue;
      }
      if (!embedder || !tokenizer) {
        const files = minilmFiles(modelsDir);
        tokenizer = new TextTokenizer(files.tokenizer, 256);
        embedder = await OnnxEmbedder.load(files.model, { threads });
      }
      const out: Float32Array[] = [];
      for (let i = 0; i < block.length; i += BATCH) out.push(...(await embedder.embed(block.slice(i, i + BATCH).map((t) => tokenizer!.encode(t).ids))));
      dimensions = embedder.dimensions;
      const all = new Float32Array(block.length * dimensions);
      out.forEach((v, i) => all.set(v, i * dimensions));
      writeFileSync(`${file}.tmp`, Buffer.from(all.buffer));
      renameSync(`${file}.tmp`, file);
      vectors.push(...out);
      embedded += block.length;
      const s = (performance.now() - started) / 1000;
      log(`embedding cache: ${b + block.length}/${texts.length} texts (${embedded} embedded in ${s.toFixed(0)} s, ${(embedded / s).toFixed(0)}/s)`);
    }
  } finally {
    await embedder?.release();
  }
  return { vectors, dimensions, embedded, seconds: (performance.now() - started) / 1000 };
}
