/**
 * Scenario "brainml": BrainML's ingest rate and query latency per mode, per backend, at 10k and
 * 100k chunks, and the recall@10 of PostgreSQL's HNSW index against exact search.
 *
 * Data: real English sentences (bench/lib/sentences.ts) embedded by the real embeddings plugin
 * (all-MiniLM-L6-v2) through a real daemon; 200 held-out sentences are the queries. The 10k
 * collection is 10,000 real sentences with their real vectors. The 100k collection is those plus
 * nine perturbed copies of each (same text, vector + Gaussian noise, renormalised: cosine ~0.96
 * to the original), since embedding 100k sentences would take most of an hour here.
 * Query latency is BrainML's own query path (runQuery: search, fusion, chunk reads, highlights)
 * run in this process with the query's vector given, so it excludes the bus (~0.1 ms, see
 * "socket") and the query's embedding (see the embeddings scenario).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
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
import { realSentences } from "./lib/sentences.js";
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

/** A seeded Gaussian, so the 100k perturbation is the same every run. */
function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => ((s = (s * 1664525 + 1013904223) >>> 0) + 1) / 4294967297;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

function perturb(v: Float32Array, rand: () => number, eps: number): Float32Array {
  const out = new Float32Array(v.length);
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    out[i] = v[i] + (eps / Math.sqrt(v.length)) * rand();
    norm += out[i] * out[i];
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < v.length; i++) out[i] /= norm;
  return out;
}

/**
 * The texts' vectors from the embeddings plugin, kept in ~/.cache/bkg/bench-brainml/ (keyed by
 * the texts and the model file's sha256) so a rerun does not embed 10k sentences again.
 */
async function embedCached(call: (m: string, p: Record<string, unknown>) => Promise<unknown>, texts: string[], modelsDir: string): Promise<{ vectors: Float32Array[]; cached: boolean }> {
  const record = readFileSync(join(modelsDir, "all-minilm-l6-v2", "model.json"), "utf8");
  const key = createHash("sha256").update(record).update(texts.join("\n")).digest("hex").slice(0, 24);
  const dir = join(process.env.BKG_TEST_CACHE ?? join(homedir(), ".cache", "bkg"), "bench-brainml");
  const file = join(dir, `${key}.f32`);
  if (existsSync(file)) {
    const b = readFileSync(file);
    const all = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    return { vectors: texts.map((_, i) => all.subarray(i * DIMS, (i + 1) * DIMS)), cached: true };
  }
  const vectors = await embedAll(call, texts);
  mkdirSync(dir, { recursive: true });
  const all = new Float32Array(texts.length * DIMS);
  vectors.forEach((v, i) => all.set(v, i * DIMS));
  writeFileSync(`${file}.tmp`, Buffer.from(all.buffer));
  renameSync(`${file}.tmp`, file);
  return { vectors, cached: false };
}

async function embedAll(call: (m: string, p: Record<string, unknown>) => Promise<unknown>, texts: string[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += 64) {
    const r = (await call("embeddings.embed", { input: texts.slice(i, i + 64) })) as { data: Array<{ index: number; embedding: number[] }> };
    for (const d of r.data.sort((a, b) => a.index - b.index)) out.push(Float32Array.from(d.embedding));
  }
  return out;
}

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
    const { PostgresBackend, SqliteBackend, Brain, readConfig, runQuery } = await brainml();
    const rows: Row[] = [];
    const targets: TargetCheck[] = [];
    const notes: string[] = [];
    const real = ctx.quick ? 2000 : 10_000;
    const scales = ctx.quick ? [real] : [real, 100_000];
    const sentences = realSentences(real + QUERIES);
    if (sentences.length < real + QUERIES) throw new Error(`only ${sentences.length} real sentences found; need ${real + QUERIES}`);
    const docTexts = sentences.slice(0, real);
    const queryTexts = sentences.slice(real, real + QUERIES);

    // 1. Real embeddings, and BrainML's ingest through the bus (embedding included).
    const models = findMinilmModelsDir();
    if (!models) return unavailable("all-minilm-l6-v2 is not in the test model cache: run the BrainML or embeddings tests once (they fetch it), or set BKG_BENCH_MODELS_DIR");
    const brainmlDir = join(ROOT, "plugins", "brainml");
    const d = await bootDaemon({
      manifests: {
        embeddings: { name: "embeddings", version: "1.0.0", command: ["node", "dist/index.js"], cwd: join(ROOT, "plugins", "embeddings"), provides: ["embed", "models", "stats"], env: { BKG_MODELS_DIR: models }, config: { threads: 1, maxBatch: 64 }, health: SLOW_MACHINE_HEALTH },
        brainml: { name: "brainml", version: "1.0.0", command: ["node", "dist/index.js"], cwd: brainmlDir, provides: ["index", "query"], permissions: ["embeddings.embed"], timeouts: { call: 600_000 }, config: { backend: "sqlite" }, health: SLOW_MACHINE_HEALTH },
      },
    });
    await d.waitReady(["embeddings", "brainml"], 60_000);
    const call = (m: string, p: Record<string, unknown>) => d.client.call(m, p, { timeoutMs: 600_000 });
    ctx.log(`brainml: embedding ${docTexts.length + queryTexts.length} real sentences (or reading them from the cache)`);
    let t0 = performance.now();
    const embedded = await embedCached(call, [...docTexts, ...queryTexts], models);
    const docVectors = embedded.vectors.slice(0, real);
    const queryVectors = embedded.vectors.slice(real);
    const embedS = (performance.now() - t0) / 1000;
    if (!embedded.cached) notes.push(`${docTexts.length + queryTexts.length} real sentences embedded in ${embedS.toFixed(1)} s (${((docTexts.length + queryTexts.length) / embedS).toFixed(0)}/s, 1 thread, batches of 64)`);
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
    for (const kind of ["sqlite", "postgres"] as const) {
      for (const scale of scales) {
        const name = `c${scale}`;
        const backend: Backend = kind === "sqlite" ? new SqliteBackend(join(sqliteDir, `${name}.db`)) : new PostgresBackend({ url: pg.url, efSearch: 100 });
        const brain = new Brain(backend, readConfig({ backend: kind, postgres: { url: pg.url } }, sqliteDir));
        const c = collection(name);
        await backend.createCollection(c);
        const rand = gaussian(scale);
        const copies = scale / real;
        ctx.log(`brainml: loading ${scale} chunks into ${kind}`);
        t0 = performance.now();
        for (let copy = 0; copy < copies; copy++) {
          for (let i = 0; i < real; i += 1000) {
            const docs: DocumentRecord[] = [];
            for (let j = i; j < Math.min(real, i + 1000); j++) {
              const vector = copy === 0 ? docVectors[j] : perturb(docVectors[j], rand, 0.3);
              docs.push({ id: `${j}-${copy}`, text: docTexts[j], metadata: { copy, n: j }, updatedAt: 0, chunks: [{ index: 0, text: docTexts[j], vector }] });
            }
            await backend.upsert(c, docs);
          }
        }
        const loadS = (performance.now() - t0) / 1000;
        rows.push({ case: `store ${scale} chunks with their vectors, ${kind}`, subject: "bkg", metrics: [{ label: "chunks/s", summary: summarize([scale / loadS]) }] });

        for (const mode of ["fts", "vector", "hybrid"] as const) {
          const times: number[] = [];
          for (let round = 0; round < 2; round++) {
            for (let q = 0; q < queryTexts.length; q++) {
              const s = performance.now();
              await runQuery(brain, noEmbedder, { collection: name, query: queryTexts[q], vector: Array.from(queryVectors[q]), mode, topK: 10 });
              if (round === 1) times.push(performance.now() - s); // round 0 warms caches
            }
          }
          const sorted = Float64Array.from(times).sort();
          const p50 = percentile(sorted, sorted.length, 50);
          const p99 = percentile(sorted, sorted.length, 99);
          rows.push({ case: `${mode} query, ${scale} chunks, ${kind}`, subject: "bkg", metrics: [{ label: "p50 ms", summary: summarize([p50]), digits: 2 }, { label: "p99 ms", summary: summarize([p99]), digits: 2 }] });
          if (mode === "hybrid" && kind === "sqlite" && scale === 100_000) {
            targets.push({ target: "hybrid p50 < 20 ms at 100k chunks on SQLite", met: p50 < 20, detail: `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms` });
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
        const how = kind === "postgres" ? "HNSW m=16, ef_construction=64, ef_search=100" : scale >= 20_000 ? "binary-code index, exact rerank of 1000" : "exact vec0 scan below 20k chunks";
        rows.push({ case: `vector recall@10 vs exact, ${scale} chunks, ${kind} (${how})`, subject: "bkg", metrics: [{ label: "recall@10", summary: summarize([recall]), digits: 3 }] });
        if (kind === "sqlite" && scale >= 20_000) targets.push({ target: `SQLite binary-index recall@10 >= 0.95 against exact search, ${scale} chunks`, met: recall >= 0.95, detail: `recall@10 ${recall.toFixed(3)}` });
        if (kind === "postgres") targets.push({ target: `HNSW recall@10 >= 0.95 against exact search, ${scale} chunks${scale > real ? " (perturbed copies)" : " (real embeddings)"}`, met: recall >= 0.95, detail: `recall@10 ${recall.toFixed(3)}` });
        if (kind === "postgres") await backend.dropCollection(name);
        await backend.close();
      }
    }
    await pg.stop();
    notes.push("Query latency: BrainML's query path in-process with the query vector given (no bus, no query embedding); 200 held-out real sentences as queries, second of two rounds.");
    if (!ctx.quick) notes.push("100k: the 10k real sentences plus nine copies each with the vector perturbed (Gaussian noise, cosine ~0.96 to the original) and the same text.");
    return { available: true, rows, targets, notes };
  },
};
