/**
 * Scenario "brainml": BrainML's ingest rate and query latency per mode, per backend, at 10k and
 * 100k chunks, and the recall@10 of PostgreSQL's HNSW index against exact search.
 *
 * Data: 100,000 distinct real English texts (bench/lib/sentences.ts retrievalCorpus: sentences
 * of the Markdown and .d.ts doc comments under node_modules, then pairs of consecutive ones) and
 * 200 held-out real sentences as queries, all embedded with the real all-MiniLM-L6-v2 through
 * the plugin's own embedder and cached on disk outside the repo (bench/lib/embedding-cache.ts,
 * keyed by model and texts, resumable): the first run embeds 100,200 texts (~8 ms of CPU each
 * on this machine's cores, so tens of minutes), reruns read the cache. The 10k collection is
 * the first 10,000 texts.
 * Query latency is BrainML's own query path (runQuery: search, fusion, chunk reads, highlights)
 * run in this process with the query's vector given, so it excludes the bus (~0.1 ms, see
 * "socket") and the query's embedding (see the embeddings scenario).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type * as PostgresModule from "../plugins/brainml/dist/backends/postgres-backend.js";
import type * as SqliteModule from "../plugins/brainml/dist/backends/sqlite-backend.js";
import type * as BrainModule from "../plugins/brainml/dist/brain.js";
import type * as ConfigModule from "../plugins/brainml/dist/config.js";
import type * as SearchModule from "../plugins/brainml/dist/query/search.js";
import type { Backend, CollectionInfo, DocumentRecord } from "../plugins/brainml/dist/types.js";
import { bootDaemon } from "./lib/daemon.js";
import { findMinilmModelsDir } from "./lib/embeddings-model.js";
import { ROOT } from "./lib/paths.js";
import { startPostgres } from "./lib/postgres.js";
import { onCleanup } from "./lib/procs.js";
import { unavailable, type BenchContext, type Row, type Scenario, type ScenarioResult, type TargetCheck } from "./lib/scenario.js";
import { BRAINML_CHUNKS } from "./lib/brainml-corpus.js";
import { cachedEmbeddings } from "./lib/embedding-cache.js";
import { retrievalCorpus } from "./lib/sentences.js";
import { percentile, summarize } from "./lib/stats.js";

const DIMS = 384;

/** BrainML's own modules (built by tsc -b), loaded from the repository root whatever folder this file is compiled to. */
async function brainml() {
  const load = <T>(p: string) => import(pathToFileURL(join(ROOT, "plugins", "brainml", "dist", p)).href) as Promise<T>;
  return {
    ...(await load<typeof PostgresModule>("backends/postgres-backend.js")),
    ...(await load<typeof SqliteModule>("backends/sqlite-backend.js")),
    ...(await load<typeof BrainModule>("brain.js")),
    ...(await load<typeof ConfigModule>("config.js")),
    ...(await load<typeof SearchModule>("query/search.js")),
  };
}
const QUERIES = 200;

function collection(name: string): CollectionInfo {
  return { name, dimensions: DIMS, metric: "cosine", model: "all-minilm-l6-v2", embedMethod: "embeddings.embed", createdAt: Date.now() };
}

/** A batch of inference holds the embedder's event loop; on a loaded 2-core machine that can outlast the default ping timeout. */
const SLOW_MACHINE_HEALTH = { timeoutMs: 60_000, misses: 5 };

const noEmbedder = async () => {
  throw new Error("the benchmark gives query vectors; nothing is embedded here");
};

export const scenario: Scenario = {
  name: "brainml",
  title: "BrainML: ingest, query latency per mode and backend, HNSW recall",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { PostgresBackend, SqliteBackend, Brain, readConfig, runQuery, APPROXIMATE_ABOVE } = await brainml();
    const rows: Row[] = [];
    const targets: TargetCheck[] = [];
    const notes: string[] = [];
    // BKG_BENCH_BRAINML_CHUNKS=10000 stops at 10k (e.g. while the 100k corpus is not embedded yet).
    const most = Number(process.env.BKG_BENCH_BRAINML_CHUNKS ?? BRAINML_CHUNKS);
    const scales = ctx.quick ? [2000] : most > 10_000 ? [10_000, most] : [most];
    const largest = scales[scales.length - 1];
    const corpus = retrievalCorpus(largest, QUERIES);
    if (corpus.chunks.length < largest) throw new Error(`only ${corpus.chunks.length} real texts found; need ${largest}`);
    const docTexts = corpus.chunks;
    const queryTexts = corpus.queries;

    // 1. Real embeddings, and BrainML's ingest through the bus (embedding included).
    const models = findMinilmModelsDir();
    if (!models) return unavailable("all-minilm-l6-v2 is not in the test model cache: run the BrainML or embeddings tests once (they fetch it), or set BKG_BENCH_MODELS_DIR");
    const brainmlDir = join(ROOT, "plugins", "brainml");
    const d = await bootDaemon({
      manifests: {
        embeddings: {
          name: "embeddings",
          version: "1.0.0",
          command: ["node", "dist/index.js"],
          cwd: join(ROOT, "plugins", "embeddings"),
          provides: ["embed", "models", "stats"],
          env: { BKG_MODELS_DIR: models },
          config: { threads: 1, maxBatch: 64 },
          health: SLOW_MACHINE_HEALTH,
        },
        brainml: {
          name: "brainml",
          version: "1.0.0",
          command: ["node", "dist/index.js"],
          cwd: brainmlDir,
          provides: ["index", "query"],
          permissions: ["embeddings.embed"],
          timeouts: { call: 600_000 },
          config: { backend: "sqlite" },
          health: SLOW_MACHINE_HEALTH,
        },
      },
    });
    await d.waitReady(["embeddings", "brainml"], 60_000);
    const call = (m: string, p: Record<string, unknown>) => d.client.call(m, p, { timeoutMs: 600_000 });
    ctx.log(`brainml: embedding ${docTexts.length + queryTexts.length} real texts (or reading them from the cache)`);
    const embedded = await cachedEmbeddings(models, [...queryTexts, ...docTexts], ctx.log);
    const queryVectors = embedded.vectors.slice(0, QUERIES);
    const docVectors = embedded.vectors.slice(QUERIES);
    if (embedded.embedded > 0)
      notes.push(
        `${embedded.embedded} real texts embedded into the cache in ${embedded.seconds.toFixed(0)} s (${(embedded.embedded / embedded.seconds).toFixed(1)}/s, 1 thread, batches of 64); reruns read them back`,
      );
    let t0 = performance.now();
    const ingestN = ctx.quick ? 256 : 1024;
    await call("brainml.collections.create", { name: "ingest", dimensions: DIMS });
    const rates: number[] = [];
    for (let run = 0; run < Math.min(ctx.runs, 3); run++) {
      t0 = performance.now();
      for (let i = 0; i < ingestN; i += 128) await call("brainml.index", { collection: "ingest", documents: docTexts.slice(i, i + 128).map((text, j) => ({ id: `r${run}-${i + j}`, text })) });
      rates.push(ingestN / ((performance.now() - t0) / 1000));
    }
    rows.push({ case: `ingest ${ingestN} sentences via the bus (MiniLM embedding included), SQLite`, subject: "bkg", metrics: [{ label: "chunks/s", summary: summarize(rates) }] });
    await d.stop();

    // 2. Per backend and scale: store rate, query latency per mode, recall.
    const pg = await startPostgres();
    const sqliteDir = mkdtempSync(join(tmpdir(), "bkg-bench-brainml-"));
    onCleanup(`remove ${sqliteDir}`, () => rmSync(sqliteDir, { recursive: true, force: true }));
    // BKG_BENCH_BRAINML_BACKENDS=sqlite measures one backend (PostgreSQL stores ~100 chunks/s with its HNSW index: 100k take a quarter of an hour).
    const kinds = (["sqlite", "postgres"] as const).filter((k) => (process.env.BKG_BENCH_BRAINML_BACKENDS ?? "sqlite,postgres").split(",").includes(k));
    for (const kind of kinds) {
      for (const scale of scales) {
        const name = `c${scale}`;
        const backend: Backend = kind === "sqlite" ? new SqliteBackend(join(sqliteDir, `${name}.db`)) : new PostgresBackend({ url: pg.url, efSearch: 100 });
        const brain = new Brain(backend, readConfig({ backend: kind, postgres: { url: pg.url } }, sqliteDir));
        const c = collection(name);
        await backend.createCollection(c);
        ctx.log(`brainml: loading ${scale} chunks into ${kind}`);
        t0 = performance.now();
        for (let i = 0; i < scale; i += 1000) {
          const docs: DocumentRecord[] = [];
          for (let j = i; j < Math.min(scale, i + 1000); j++) {
            docs.push({ id: String(j), text: docTexts[j], metadata: { n: j }, updatedAt: 0, chunks: [{ index: 0, text: docTexts[j], vector: docVectors[j] }] });
          }
          await backend.upsert(c, docs);
        }
        const loadS = (performance.now() - t0) / 1000;
        rows.push({ case: `store ${scale} chunks with their vectors, ${kind}`, subject: "bkg", metrics: [{ label: "chunks/s", summary: summarize([scale / loadS]) }] });

        for (const mode of ["fts", "vector", "hybrid"] as const) {
          const times: number[] = [];
          let cpuMs = 0;
          for (let round = 0; round < 2; round++) {
            const cpu0 = process.cpuUsage();
            for (let q = 0; q < queryTexts.length; q++) {
              const s = performance.now();
              await runQuery(brain, noEmbedder, { collection: name, query: queryTexts[q], vector: Array.from(queryVectors[q]), mode, topK: 10 });
              if (round === 1) times.push(performance.now() - s); // round 0 warms caches
            }
            const used = process.cpuUsage(cpu0);
            // SQLite runs in this process, so its CPU time per query does not grow with the machine's load as wall time does.
            cpuMs = (used.user + used.system) / 1000 / queryTexts.length;
          }
          const sorted = Float64Array.from(times).sort();
          const p50 = percentile(sorted, sorted.length, 50);
          const p99 = percentile(sorted, sorted.length, 99);
          rows.push({
            case: `${mode} query, ${scale} chunks, ${kind}`,
            subject: "bkg",
            metrics: [
              { label: "p50 ms", summary: summarize([p50]), digits: 2 },
              { label: "p99 ms", summary: summarize([p99]), digits: 2 },
              ...(kind === "sqlite" ? [{ label: "CPU ms/query", summary: summarize([cpuMs]), digits: 2 }] : []),
            ],
          });
          if (mode === "hybrid" && kind === "sqlite" && scale === 100_000) {
            targets.push({
              target: "hybrid p50 < 20 ms at 100k chunks on SQLite",
              met: p50 < 20,
              detail: `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, ${cpuMs.toFixed(2)} ms of CPU per query (load ${loadavg()[0].toFixed(1)})`,
            });
          }
        }

        let hits = 0;
        for (let q = 0; q < queryVectors.length; q++) {
          const approx = await backend.searchVector(c, queryVectors[q], 10, []);
          const exact = await backend.searchVector(c, queryVectors[q], 10, [], true);
          const want = new Set(exact.map((h) => h.docId));
          hits += approx.filter((h) => want.has(h.docId)).length;
        }
        const recall = hits / (10 * queryVectors.length);
        const how =
          kind === "postgres"
            ? "HNSW m=16, ef_construction=64, ef_search=100"
            : scale >= APPROXIMATE_ABOVE
              ? "binary-code index, exact rerank of 1000"
              : `exact vec0 scan below ${APPROXIMATE_ABOVE} chunks`;
        rows.push({ case: `vector recall@10 vs exact, ${scale} chunks, ${kind} (${how})`, subject: "bkg", metrics: [{ label: "recall@10", summary: summarize([recall]), digits: 3 }] });
        if (kind === "sqlite" && scale >= APPROXIMATE_ABOVE)
          targets.push({ target: `SQLite binary-index recall@10 >= 0.95 against exact search, ${scale} chunks`, met: recall >= 0.95, detail: `recall@10 ${recall.toFixed(3)}` });
        if (kind === "postgres")
          targets.push({ target: `HNSW recall@10 >= 0.95 against exact search, ${scale} chunks (real embeddings)`, met: recall >= 0.95, detail: `recall@10 ${recall.toFixed(3)}` });
        if (kind === "postgres") await backend.dropCollection(name);
        await backend.close();
      }
    }
    await pg.stop();
    notes.push("Query latency: BrainML's query path in-process with the query vector given (no bus, no query embedding); 200 held-out real sentences as queries, second of two rounds.");
    notes.push(
      "Corpus: distinct real texts (sentences of Markdown and .d.ts doc comments under node_modules, then two consecutive sentences per chunk once single sentences run out), each with its own real MiniLM vector; queries are 200 held-out sentences.",
    );
    return { available: true, rows, targets, notes };
  },
};
