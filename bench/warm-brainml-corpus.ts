/**
 * `node bench/dist/warm-brainml-corpus.js`: embeds the brainml scenario's 100k-chunk corpus into
 * the on-disk cache (bench/lib/embedding-cache.ts) ahead of a run, resumable; prints the rate.
 * The scenario does the same itself when the cache is cold; this only lets it happen apart.
 */
import { findMinilmModelsDir } from "./lib/embeddings-model.js";
import { cachedEmbeddings } from "./lib/embedding-cache.js";
import { BRAINML_CHUNKS, BRAINML_QUERIES } from "./lib/brainml-corpus.js";
import { retrievalCorpus } from "./lib/sentences.js";

const models = findMinilmModelsDir();
if (!models) throw new Error("all-minilm-l6-v2 is not in the test model cache: run the embeddings tests once");
const corpus = retrievalCorpus(BRAINML_CHUNKS, BRAINML_QUERIES);
console.log(`${corpus.chunks.length} chunks, ${corpus.queries.length} queries`);
const r = await cachedEmbeddings(models, [...corpus.queries, ...corpus.chunks], (l) => console.log(`[${new Date().toISOString()}] ${l}`), Number(process.env.THREADS ?? 1));
console.log(`done: ${r.embedded} embedded in ${r.seconds.toFixed(0)} s`);
