/**
 * Embeds text through the bus: `embedMethod` (embeddings.embed by default) takes
 * {input: string[], model} and answers {data: [{index, embedding}], dimensions}. Texts go in
 * batches; every vector is checked against the collection's dimensions.
 */
import { brainError, messageOf } from "./errors.js";
import type { CollectionInfo } from "./types.js";

export type CallFn = <T = unknown>(method: string, params?: unknown, options?: { timeoutMs?: number }) => Promise<T>;

interface EmbedAnswer {
  data: Array<{ index: number; embedding: number[] }>;
  dimensions?: number;
}

export async function embedTexts(call: CallFn, collection: CollectionInfo, texts: string[], batchSize: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += batchSize) {
    const batch = texts.slice(i, i + batchSize);
    let answer: EmbedAnswer;
    try {
      answer = await call<EmbedAnswer>(collection.embedMethod, { input: batch, model: collection.model });
    } catch (e) {
      throw brainError(
        "embedding_failed",
        `could not embed text for collection "${collection.name}" with ${collection.embedMethod} (model ${collection.model}): ${messageOf(e)}; nothing was written`,
        { method: collection.embedMethod, cause: (e as { code?: number }).code },
      );
    }
    const vectors = new Array<Float32Array>(batch.length);
    for (const item of answer?.data ?? []) vectors[item.index] = Float32Array.from(item.embedding);
    for (let j = 0; j < batch.length; j++) {
      const v = vectors[j];
      if (!v) throw brainError("embedding_failed", `${collection.embedMethod} answered no vector for input ${i + j}; nothing was written`);
      if (v.length !== collection.dimensions) {
        throw brainError(
          "dimension_mismatch",
          `${collection.embedMethod} (model ${collection.model}) gives ${v.length}-dimensional vectors but collection "${collection.name}" holds ${collection.dimensions}; create the collection with dimensions ${v.length}`,
          { expected: collection.dimensions, got: v.length },
        );
      }
      out.push(v);
    }
  }
  return out;
}
