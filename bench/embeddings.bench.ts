/**
 * Scenario: the embeddings plugin (issue 13). Two questions, each answered against a baseline
 * measured in the same run:
 *  1. What does going through the bus cost? Sentences/s of `embeddings.embed` called over the
 *     daemon's socket in batches of 64, against the same model driven in-process with
 *     onnxruntime-node (same tokenizer, threads and batch). Target: at least 0.9x.
 *  2. What does dynamic batching buy? 16 concurrent callers with one sentence per call, with
 *     batching (maxBatch 64, maxWaitMs 4) against one-by-one (maxBatch 1). Target: at least 2x.
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { OnnxEmbedder } from "@bkg/plugin-embeddings/dist/onnx-embedder.js";
import { TextTokenizer } from "@bkg/plugin-embeddings/dist/tokenize.js";
import { bootDaemon, type BenchDaemon } from "./lib/daemon.js";
import { benchSentences, findMinilmModelsDir, minilmFiles, MINILM } from "./lib/embeddings-model.js";
import { ROOT } from "./lib/paths.js";
import { cpuMicros } from "./lib/procs.js";
import { unavailable, type BenchContext, type Row, type Scenario, type TargetCheck } from "./lib/scenario.js";
import { summarize } from "./lib/stats.js";

const THREADS = Number(process.env.BKG_BENCH_EMBED_THREADS ?? 1);
const BATCH = 64;
const CALLERS = 16;

function manifest(modelsDir: string, config: Record<string, unknown>): Record<string, unknown> {
  return {
    name: "embeddings",
    version: "1.0.0",
    command: ["node", "dist/index.js"],
    cwd: join(ROOT, "plugins", "embeddings"),
    provides: ["embed", "models", "stats"],
    env: { BKG_MODELS_DIR: modelsDir },
    config: { threads: THREADS, maxBatch: BATCH, maxWaitMs: 4, ...config },
  };
}

async function withPlugin<T>(modelsDir: string, config: Record<string, unknown>, fn: (d: BenchDaemon) => Promise<T>): Promise<T> {
  const d = await bootDaemon({ manifests: { embeddings: manifest(modelsDir, config) } });
  try {
    await d.client.call("embeddings.embed", { input: ["warm up the model"] });
    return await fn(d);
  } finally {
    await d.stop();
  }
}

/** Sentences/s embedding `sentences` in batches of BATCH, `inFlight` batches at a time. */
async function throughput(sentences: string[], inFlight: number, embedBatch: (batch: string[]) => Promise<unknown>): Promise<number> {
  const batches: string[][] = [];
  for (let i = 0; i < sentences.length; i += BATCH) batches.push(sentences.slice(i, i + BATCH));
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < batches.length) await embedBatch(batches[next++]);
    }),
  );
  return sentences.length / ((performance.now() - started) / 1000);
}

/**
 * Wall time of one run per sentence over wall time of one run for all of them, with the plugin's
 * own embedder in this process at `threads`: the ceiling of what merging calls can buy, without
 * IPC or waiting. Median over `rounds` paired rounds (the order alternates).
 */
async function inProcessBatchingCeiling(files: { model: string }, tokenizer: TextTokenizer, sentences: string[], threads: number, rounds: number): Promise<number> {
  const embedder = await OnnxEmbedder.load(files.model, { threads });
  try {
    const ids = sentences.map((s) => tokenizer.encode(s).ids);
    const timed = async (fn: () => Promise<unknown>) => {
      const t0 = performance.now();
      await fn();
      return performance.now() - t0;
    };
    const oneEach = () =>
      timed(async () => {
        for (const seq of ids) await embedder.embed([seq]);
      });
    const allInOne = () => timed(() => embedder.embed(ids));
    await oneEach();
    await allInOne();
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let each: number;
      let all: number;
      if (r % 2 === 0) {
        each = await oneEach();
        all = await allInOne();
      } else {
        all = await allInOne();
        each = await oneEach();
      }
      ratios.push(each / all);
    }
    return summarize(ratios).median;
  } finally {
    await embedder.release();
  }
}

export const scenario: Scenario = {
  name: "embeddings",
  title: "Embeddings plugin (issue 13)",
  async run(ctx: BenchContext) {
    const modelsDir = findMinilmModelsDir();
    if (!modelsDir)
      return unavailable(`no pulled ${MINILM}: run the embeddings tests once (npx tap test/plugins/embeddings.test.ts fetches it) or set BKG_BENCH_MODELS_DIR to a models dir holding it`);
    const runs = ctx.runs;
    const sentences = benchSentences(ctx.quick ? 256 : 512);
    const rows: Row[] = [];
    const targets: TargetCheck[] = [];

    // 1. In-process onnxruntime-node against the plugin over the bus.
    const files = minilmFiles(modelsDir);
    const tokenizer = new TextTokenizer(files.tokenizer, 256);
    const embedder = await OnnxEmbedder.load(files.model, { threads: THREADS });
    const inProcess = (batch: string[]) => embedder.embed(batch.map((s) => tokenizer.encode(s).ids));
    const local: number[] = [];
    const bus1: number[] = [];
    const bus2: number[] = [];
    const localCpu: number[] = [];
    const pluginCpu: number[] = [];
    await withPlugin(modelsDir, {}, async (d) => {
      const viaBus = (batch: string[]) => d.client.call("embeddings.embed", { input: batch });
      const [pid] = await d.pluginPids("embeddings");
      await inProcess(sentences.slice(0, BATCH));
      const runLocal = async () => {
        const cpu0 = process.cpuUsage();
        local.push(await throughput(sentences, 1, inProcess));
        const used = process.cpuUsage(cpu0);
        localCpu.push((used.user + used.system) / 1000 / sentences.length);
      };
      const runBus = async () => {
        const p0 = cpuMicros(pid);
        bus1.push(await throughput(sentences, 1, viaBus));
        pluginCpu.push((cpuMicros(pid) - p0) / 1000 / sentences.length);
        bus2.push(await throughput(sentences, 2, viaBus));
      };
      for (let r = 0; r < runs; r++) {
        // Which subject goes first alternates, so a drift in the machine's load falls on both.
        if (r % 2 === 0) {
          await runLocal();
          await runBus();
        } else {
          await runBus();
          await runLocal();
        }
        ctx.log(`embeddings: throughput run ${r + 1}/${runs}: in-process ${local[r].toFixed(0)}/s, bus ${bus1[r].toFixed(0)}/s, bus 2 in flight ${bus2[r].toFixed(0)}/s`);
      }
    });
    await embedder.release();
    const l = summarize(local);
    const b1 = summarize(bus1);
    const b2 = summarize(bus2);
    const label = `${sentences.length} sentences, batch ${BATCH}, ${THREADS} thread`;
    const cpuCell = (xs: number[]) => ({ label: "CPU ms/sentence (process embedding)", summary: summarize(xs), digits: 2 });
    rows.push({ case: label, subject: "onnxruntime-node in-process", metrics: [{ label: "sentences/s", summary: l }, cpuCell(localCpu)] });
    // Paired per run (the two subjects ran back to back): steadier than a ratio of medians.
    const r1 = summarize(bus1.map((b, i) => b / local[i])).median;
    const r2 = summarize(bus2.map((b, i) => b / local[i])).median;
    rows.push({
      case: label,
      subject: "embeddings.embed over the socket, 1 call in flight",
      metrics: [{ label: "sentences/s", summary: b1 }, cpuCell(pluginCpu)],
      vs: `${r1.toFixed(2)}x in-process`,
    });
    rows.push({ case: label, subject: "embeddings.embed over the socket, 2 calls in flight", metrics: [{ label: "sentences/s", summary: b2 }], vs: `${r2.toFixed(2)}x in-process` });
    targets.push({
      target: "embeddings through the bus at least 0.9x onnxruntime-node in-process (same model, threads, batch)",
      met: Math.max(r1, r2) >= 0.9,
      detail: `1 call in flight ${r1.toFixed(2)}x, 2 in flight ${r2.toFixed(2)}x (paired medians; ${b1.median.toFixed(0)} / ${b2.median.toFixed(0)} vs ${l.median.toFixed(0)} sentences/s)`,
    });

    // 2. 16 single-sentence callers: dynamic batching against one-by-one, at 1 thread and at
    // every core. Beside them, the most batching can buy with this model on this machine: the
    // same 16 sentences embedded in-process one run each against one run for all 16.
    const perCaller = ctx.quick ? 8 : 16;
    /** Sentences/s of 16 callers, and the plugin process's CPU ms per sentence in that time. */
    const callers = async (d: BenchDaemon): Promise<[number, number]> => {
      const [pid] = await d.pluginPids("embeddings");
      const cpu0 = cpuMicros(pid);
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CALLERS }, async (_, c) => {
          for (let i = 0; i < perCaller; i++) await d.client.call("embeddings.embed", { input: [sentences[(c * perCaller + i) % sentences.length]] });
        }),
      );
      const rate = (CALLERS * perCaller) / ((performance.now() - started) / 1000);
      return [rate, (cpuMicros(pid) - cpu0) / 1000 / (CALLERS * perCaller)];
    };
    const caseLabel = (threads: number) => `${CALLERS} concurrent callers, 1 sentence per call, ${threads} thread${threads === 1 ? "" : "s"}`;
    const cpuMetric = (xs: number[]) => ({ label: "plugin CPU ms/sentence", summary: summarize(xs), digits: 2 });
    for (const threads of [...new Set([THREADS, availableParallelism()])]) {
      const ceiling = await inProcessBatchingCeiling(files, tokenizer, sentences.slice(0, CALLERS), threads, ctx.quick ? 5 : 15);
      const batched: number[] = [];
      const single: number[] = [];
      const batchedCpu: number[] = [];
      const singleCpu: number[] = [];
      let mergedShare = NaN;
      // Both daemons up at once and the runs alternated, so a change in the machine's load
      // falls on both subjects alike.
      await withPlugin(modelsDir, { threads }, (batching) =>
        withPlugin(modelsDir, { threads, maxBatch: 1 }, async (oneByOne) => {
          for (let r = 0; r < runs; r++) {
            for (const [d, rates, cpus] of r % 2 === 0
              ? ([
                  [batching, batched, batchedCpu],
                  [oneByOne, single, singleCpu],
                ] as const)
              : ([
                  [oneByOne, single, singleCpu],
                  [batching, batched, batchedCpu],
                ] as const)) {
              const [rate, cpu] = await callers(d);
              rates.push(rate);
              cpus.push(cpu);
            }
          }
          const s = (await batching.client.call<{ models: Record<string, { runs: number; items: number }> }>("embeddings.stats", {})).models[MINILM];
          mergedShare = s.items / s.runs;
        }),
      );
      ctx.log(
        `embeddings: ${CALLERS} callers, ${threads} thread(s): batched ${batched.map((x) => x.toFixed(0)).join(", ")}, one-by-one ${single.map((x) => x.toFixed(0)).join(", ")}; in-process ceiling ${ceiling.toFixed(2)}x`,
      );
      const bs = summarize(batched);
      const ss = summarize(single);
      const paired = summarize(batched.map((b, i) => b / single[i]));
      rows.push({
        case: caseLabel(threads),
        subject: "dynamic batching (maxBatch 64, maxWaitMs 4)",
        metrics: [{ label: "sentences/s", summary: bs }, cpuMetric(batchedCpu)],
        vs: `${paired.median.toFixed(2)}x one-by-one (paired runs ${paired.min.toFixed(2)}–${paired.max.toFixed(2)})`,
      });
      rows.push({ case: caseLabel(threads), subject: "one-by-one (maxBatch 1)", metrics: [{ label: "sentences/s", summary: ss }, cpuMetric(singleCpu)] });
      rows.push({ case: caseLabel(threads), subject: "in-process: 16 sentences in one run vs one run each", metrics: [], vs: `${ceiling.toFixed(2)}x: the most batching can buy here` });
      targets.push({
        target: `16 concurrent single-sentence callers: dynamic batching at least 2x one-by-one (${threads} thread${threads === 1 ? "" : "s"})`,
        met: paired.median >= 2,
        detail: `${paired.median.toFixed(2)}x (paired median; ${bs.median.toFixed(0)} vs ${ss.median.toFixed(0)} sentences/s); ${mergedShare.toFixed(1)} sentences per inference run on average; in-process, without the bus, one run for 16 sentences is ${ceiling.toFixed(2)}x one run each`,
      });
      targets.push({
        target: `(proposed) dynamic batching wins at least 0.9x what one run of 16 wins over 16 runs in-process (${threads} thread${threads === 1 ? "" : "s"})`,
        met: paired.median >= 0.9 * ceiling,
        detail: `${(paired.median / ceiling).toFixed(2)}x: batching ${paired.median.toFixed(2)}x one-by-one, in-process ceiling ${ceiling.toFixed(2)}x. With this model a run's fixed cost is about what one sentence's tokens cost, and batching shares only the fixed part`,
      });
    }

    return {
      available: true,
      rows,
      targets,
      notes: [
        `Model ${MINILM} (int8 ONNX, 384 dimensions) from ${modelsDir}; sentences are the retrieval set's documents (one or two sentences, ~20 tokens). ${runs} runs each, alternating.`,
        "The model file stores its weights as int8 with a scale (Cast and Mul in the graph), which onnxruntime folds into fp32 weights at load: a run is fp32 matrix products, whose fixed cost (reading every weight once: 2-6 ms of one core on the machines measured) is what batching shares. The in-process row times the plugin's own OnnxEmbedder on the same 16 sentences: 16 runs of one against one run of 16 (median of paired rounds), the most merging runs can buy; batching over the bus can pass it a little, because one-by-one over the bus also pays a call's overhead in the plugin for every sentence.",
        "In-process: the plugin's own tokenizer and OnnxEmbedder classes called directly in the benchmark process (tokenize, one onnxruntime run per batch, mean pooling, normalisation), no JSON, no IPC.",
        "Over the socket: the bkg client calls embeddings.embed through the daemon, which forwards to the plugin process over stdio; each response carries 64 x 384 numbers as JSON.",
        "CPU ms/sentence counts only the process that embeds (the benchmark process in-process, the plugin process over the socket): it stays meaningful on a loaded machine where sentences/s does not, and shows what the plugin spends beyond inference (JSON, protocol).",
      ],
    };
  },
};
