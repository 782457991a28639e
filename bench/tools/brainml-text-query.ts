/**
 * A BrainML text query end to end, one caller at a time (issue 13): the client asks the daemon,
 * BrainML embeds the query through embeddings.embed (the daemon routes that call too) and runs
 * the hybrid search on SQLite. Prints p50 and p90 per round. The brainml bench measures the
 * search alone, with vectors given; this adds the query's embedding and both hops.
 *
 *   node bench/dist/tools/brainml-text-query.js [--rounds 3] [--docs 300] [--queries 100] [CHECKOUT]
 *
 * CHECKOUT (default this one) is a built checkout whose bin/bkg and plugins are run, e.g. an
 * older commit in a scratch worktree, to compare with.
 */
import { join, resolve } from "node:path";
import { argValue as opt, positionalArgs } from "../lib/argv.js";
import { bootDaemon, shippedManifest } from "../lib/daemon.js";
import { benchSentences, findMinilmModelsDir, MINILM } from "../lib/embeddings-model.js";
import { ROOT } from "../lib/paths.js";
import { cleanupAll } from "../lib/procs.js";
import { percentile } from "../lib/stats.js";

const ROUNDS = Number(opt("--rounds") ?? 3);
const DOCS = Number(opt("--docs") ?? 300);
const QUERIES = Number(opt("--queries") ?? 100);
const CHECKOUT = resolve(positionalArgs(["--rounds", "--docs", "--queries"])[0] ?? ROOT);

/** A repo manifest with the checkout's plugin folder as its cwd. */
function manifest(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...shippedManifest(name, CHECKOUT), cwd: join(CHECKOUT, "plugins", name), watch: [], ...extra };
}

async function main(): Promise<void> {
  const modelsDir = findMinilmModelsDir();
  if (!modelsDir) throw new Error(`${MINILM} is not in the test cache or the model store: run npm test once, or bkg models pull ${MINILM}`);
  const d = await bootDaemon({
    bin: join(CHECKOUT, "bin", "bkg"),
    manifests: { brainml: manifest("brainml"), embeddings: manifest("embeddings", { env: { BKG_MODELS_DIR: modelsDir } }) },
  });
  try {
    const sentences = benchSentences(DOCS + QUERIES);
    const docs = sentences.slice(0, DOCS);
    // Queries: the first six words of documents, so each has something to find.
    const queries = sentences.slice(DOCS).map((s) => s.split(" ").slice(0, 6).join(" "));
    await d.client.call("brainml.collections.create", { name: "bench", dimensions: 384, metric: "cosine", model: MINILM });
    for (let i = 0; i < docs.length; i += 50) {
      await d.client.call("brainml.index", { collection: "bench", documents: docs.slice(i, i + 50).map((text, k) => ({ id: String(i + k), text, metadata: {} })) });
    }
    for (let round = 1; round <= ROUNDS; round++) {
      const ms: number[] = [];
      for (const query of queries) {
        const started = performance.now();
        await d.client.call("brainml.query", { collection: "bench", query, mode: "hybrid", topK: 10 });
        ms.push(performance.now() - started);
      }
      ms.sort((a, b) => a - b);
      const at = (p: number) => percentile(ms, ms.length, p).toFixed(2);
      console.log(`round ${round}/${ROUNDS}: hybrid text query p50 ${at(50)} ms, p90 ${at(90)} ms (${queries.length} queries, ${docs.length} documents)`);
    }
  } finally {
    await d.stop();
  }
}

main()
  .catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
