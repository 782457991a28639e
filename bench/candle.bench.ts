/**
 * Scenario `candle`: sentence embeddings from the candle plugin (Rust, candle, fp32 safetensors
 * all-MiniLM-L6-v2) against the ONNX embeddings plugin (onnxruntime-node, int8) on the same
 * sentences, the same thread count (1 each) and in the same run: sentences/s with batches of 32,
 * and the latency of a one-sentence call. Where the time goes comes from each plugin's own
 * stats (time inside the model vs the round trip through the daemon).
 *
 * The models come from the tests' model store cache (bench/lib/test-models.ts, pulled there if
 * missing); the plugin is built by its manifest's build step into the tests' cargo target folder
 * (~/.cache/bkg/cargo-target/candle: minutes the first time, seconds after).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { bootDaemon, shippedManifest, type BenchDaemon } from "./lib/daemon.js";
import { ROOT } from "./lib/paths.js";
import type { Row, Scenario } from "./lib/scenario.js";
import { median, ratio, summarize } from "./lib/stats.js";
import { benchModelsDir, cargoTargetDir } from "./lib/test-models.js";

const BATCH = 32;

/** 64 sentences of everyday lengths (6-25 words), the same for both plugins. */
function sentences(): string[] {
  const subjects = ["The committee", "A small dog", "My neighbour's daughter", "The new database server", "An old fisherman", "The city council", "Our team", "A tired student"];
  const verbs = ["approved", "chased", "painted", "rejected", "repaired", "discussed", "announced", "forgot"];
  const objects = [
    "the budget for next year",
    "a red ball across the park",
    "the fence behind the house before the storm arrived",
    "every query that took longer than a second",
    "the boat",
    "a plan to build three new libraries in the northern districts",
    "the results",
    "the keys on the kitchen table again this morning",
  ];
  const out: string[] = [];
  for (let i = 0; i < 64; i++) out.push(`${subjects[i % 8]} ${verbs[(i * 3) % 8]} ${objects[(i * 5) % 8]}.`);
  return out;
}

function candleManifest(): Record<string, unknown> {
  const m = shippedManifest("candle");
  return { ...m, cwd: join(ROOT, "plugins", "candle"), activation: "eager", watch: [], config: { threads: 1 } };
}

function onnxManifest(): Record<string, unknown> | undefined {
  if (!existsSync(join(ROOT, "manifests", "embeddings.json"))) return undefined;
  const m = shippedManifest("embeddings");
  return { ...m, cwd: join(ROOT, "plugins", "embeddings"), activation: "eager", watch: [], config: { ...(m.config as object), threads: 1 } };
}

interface Measured {
  /** sentences/s per run (batches of 32). */
  throughput: number[];
  /** median one-sentence latency per run, ms. */
  latency: number[];
  /** ms per sentence inside the plugin's model (its own stats), when it reports it. */
  insideMsPerSentence?: number;
  /** Share of the inside time spent tokenising (candle reports it). */
  tokenizeShare?: number;
  roundTripMsPerSentence: number;
}

async function measure(d: BenchDaemon, method: string, model: string, runs: number, perRun: number): Promise<Measured> {
  const all = sentences();
  const call = (input: string[]) => d.client.call(method, { input, model });
  const stats = async () => (await d.client.call(method.replace(/\.embed$/, ".stats"), {}).catch(() => undefined)) as Record<string, unknown> | undefined;
  await call(all.slice(0, BATCH)); // load the model, warm the caches
  const before = await stats();
  const throughput: number[] = [];
  const latency: number[] = [];
  let sent = 0;
  let spent = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < perRun; i++) await call(all.slice((i % 2) * BATCH, (i % 2) * BATCH + BATCH));
    const ms = performance.now() - t0;
    throughput.push((perRun * BATCH) / (ms / 1000));
    sent += perRun * BATCH;
    spent += ms;
    const one: number[] = [];
    for (let i = 0; i < 20; i++) {
      const s = performance.now();
      await call([all[i]]);
      one.push(performance.now() - s);
    }
    latency.push(median(one));
    sent += 20;
    spent += one.reduce((a, b) => a + b, 0);
  }
  // The plugin's own time over exactly the measured calls: a difference of its counters.
  const after = await stats();
  const e0 = before?.embeddings as { totalMs?: number; tokenizeMs?: number; sentences?: number } | undefined;
  const e1 = after?.embeddings as { totalMs?: number; tokenizeMs?: number; sentences?: number } | undefined;
  const inside = e0?.totalMs !== undefined && e1?.totalMs !== undefined && e1.sentences !== e0.sentences ? (e1.totalMs - e0.totalMs) / ((e1.sentences ?? 0) - (e0.sentences ?? 0)) : undefined;
  const tokenizeShare =
    e0?.tokenizeMs !== undefined && e1?.tokenizeMs !== undefined && e1.totalMs !== e0.totalMs ? (e1.tokenizeMs - e0.tokenizeMs) / ((e1.totalMs ?? 0) - (e0.totalMs ?? 0)) : undefined;
  return { throughput, latency, insideMsPerSentence: inside, tokenizeShare, roundTripMsPerSentence: spent / sent };
}

export const scenario: Scenario = {
  name: "candle",
  title: "Candle embeddings vs the ONNX embeddings plugin",
  async run(ctx) {
    // Both models in the daemon's models.dir (the daemon hands it to plugins as BKG_MODELS_DIR).
    const modelsDir = await benchModelsDir(["all-minilm-l6-v2-candle", "all-minilm-l6-v2"], (l) => ctx.log(`candle: ${l}`));
    const manifests: Record<string, Record<string, unknown>> = { candle: candleManifest() };
    const onnx = onnxManifest();
    if (onnx) manifests.embeddings = onnx;
    const d = await bootDaemon({ manifests, config: { models: { dir: modelsDir } }, env: { ...process.env, CARGO_TARGET_DIR: cargoTargetDir("candle") } });
    try {
      ctx.log("candle: waiting for the plugins (a first cargo build takes minutes)");
      await d.waitReady(Object.keys(manifests), 40 * 60_000);
      const runs = ctx.quick ? 2 : ctx.runs;
      const perRun = ctx.quick ? 3 : 8;
      const rows: Row[] = [];
      const notes: string[] = [];
      const c = await measure(d, "candle.embed", "all-minilm-l6-v2-candle", runs, perRun);
      const o = onnx ? await measure(d, "embeddings.embed", "all-minilm-l6-v2", runs, perRun) : undefined;
      const tp = (m: Measured) => summarize(m.throughput);
      const lat = (m: Measured) => summarize(m.latency);
      rows.push({
        case: `batch ${BATCH}, 1 thread`,
        subject: "candle (fp32)",
        metrics: [
          { label: "sentences/s", summary: tp(c), digits: 1 },
          { label: "1-sentence ms", summary: lat(c), digits: 1 },
        ],
        vs: o ? `${ratio(tp(c), tp(o)).toFixed(2)}x throughput, ${ratio(lat(c), lat(o)).toFixed(2)}x latency of onnx` : undefined,
      });
      if (o) {
        rows.push({
          case: `batch ${BATCH}, 1 thread`,
          subject: "onnx embeddings (int8)",
          metrics: [
            { label: "sentences/s", summary: tp(o), digits: 1 },
            { label: "1-sentence ms", summary: lat(o), digits: 1 },
          ],
        });
      } else notes.push("the ONNX embeddings plugin (manifests/embeddings.json and its cached model) is not here: candle measured alone");
      for (const [name, m] of [
        ["candle", c],
        ["onnx", o],
      ] as const) {
        if (!m) continue;
        const inside = m.insideMsPerSentence;
        notes.push(
          inside !== undefined
            ? `${name}: ${m.roundTripMsPerSentence.toFixed(2)} ms per sentence end to end, ${inside.toFixed(2)} ms of it inside the plugin's model code (${((100 * inside) / m.roundTripMsPerSentence).toFixed(0)}%${m.tokenizeShare !== undefined ? `; tokenising ${(100 * m.tokenizeShare).toFixed(1)}% of that, the BERT forward pass and pooling the rest` : ""}); the remainder is JSON (384 floats per sentence as text) and the trip through the daemon`
            : `${name}: ${m.roundTripMsPerSentence.toFixed(2)} ms per sentence end to end (the plugin reports no time of its own)`,
        );
      }
      notes.push(
        "candle runs the fp32 weights with candle's own CPU matmul (gemm), onnxruntime the int8-quantised graph with its fused kernels: the int8 model does about a quarter of the memory traffic per layer",
      );
      return { available: true, rows, targets: [], notes };
    } finally {
      await d.stop();
    }
  },
};
