/**
 * Scenario 9: LLM generation. SmolLM2-135M-Instruct on the CPU, the same prompt, sampling
 * (temperature 0, one seed) and thread count (1) in both subjects, runs interleaved in pairs
 * (the order alternating):
 *
 *   bkg /v1 stream     POST /v1/chat/completions with stream: true through the daemon's HTTP
 *                      port (node:http keep-alive client, bench/lib/openai-stream.ts), the
 *                      llmserver plugin generating; timed by this process as a client sees it:
 *                      a parsed SSE chunk carrying text
 *   in-process         node-llama-cpp called in this process (LlamaChat.generateResponse, a chat
 *                      wrapper resolved once, one kept sequence), timed by its onTextChunk
 *
 * Time to first token (TTFT) is from making the request / calling generateResponse to the first
 * text each side has; generation tokens/s is (completion tokens - 1) / (last - first text). The
 * tokens/s verdict pools the interleaved pairs: each side's generated tokens summed over its
 * generation time summed, and their ratio, leaving out the TRIM share of pairs with the lowest
 * and the same share with the highest ratio (a load spike lands on one side of one pair: 0.46x
 * and 1.75x in one run here). A median of per-pair ratios swung 0.81-1.02 between runs whose
 * per-side medians were equal. The TTFT verdict is the paired median of the per-pair
 * differences. TTFT is also sampled by short probes (PROBE_TOKENS tokens) between the long
 * runs: a run's first token is the same measurement, and the noise here (+-30 ms per pair at
 * load 5) needs dozens of pairs. Then 4 concurrent /v1 streams (4 parallel sequences in one
 * context) against 1: total tokens/s.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { availableParallelism } from "node:os";
import { getLlama, LlamaChat, LlamaLogLevel, resolveChatWrapper } from "node-llama-cpp";
import { bootDaemon, shippedManifest } from "./lib/daemon.js";
import { keepAliveAgent, streamChat } from "./lib/openai-stream.js";
import { freePort } from "./lib/gateway.js";
import { LLM_MODEL, llmModelFile, llmModelsDir } from "./lib/llm-model.js";
import { ROOT } from "./lib/paths.js";
import { waitFor } from "./lib/procs.js";
import type { Row, Scenario, TargetCheck } from "./lib/scenario.js";
import { ratio, summarize } from "./lib/stats.js";

const THREADS = 1;
/** The model generates all of them for this prompt at temperature 0 (no early stop). */
const MAX_TOKENS = 160;
/** Runs (pairs) of the one-stream comparison at least (noise: +-15% tok/s per run). */
const MIN_RUNS = 20;
/** Pairs left out of the pooled tok/s verdict at each end of the per-pair ratios (15%). */
const TRIM = 0.15;
/** Runs of the concurrency comparison at least. */
const MIN_CONCURRENCY_RUNS = 9;
/** TTFT probes per run, each a pair, and their length (the first token is all they measure). */
const PROBES_PER_RUN = 4;
const PROBE_TOKENS = 2;
const SEED = 11;
const PROMPT = "Write a long story about a lighthouse keeper who finds a message in a bottle. Describe every day of his week.";

interface Sample {
  ttftMs: number;
  tokPerSec: number;
  tokens: number;
  totalMs: number;
  /** From the first text to the last (ms): the time the tokens after the first took. */
  genMs: number;
}

/**
 * The pairs without the `trim` share with the lowest and the `trim` share with the highest
 * bkg/in-process tok/s ratio: symmetric, so it favours neither side.
 */
function trimPairs(bkg: Sample[], local: Sample[], trim: number): { bkg: Sample[]; local: Sample[]; dropped: number } {
  const order = bkg.map((b, i) => ({ b, l: local[i], r: b.tokPerSec / local[i].tokPerSec })).sort((x, y) => x.r - y.r);
  const k = Math.floor(order.length * trim);
  const kept = order.slice(k, order.length - k);
  return { bkg: kept.map((p) => p.b), local: kept.map((p) => p.l), dropped: 2 * k };
}

/** Tokens after the first over their time, summed across runs (a pooled rate). */
function pooledTokPerSec(samples: Sample[]): number {
  const tokens = samples.reduce((n, s) => n + Math.max(0, s.tokens - 1), 0);
  const ms = samples.reduce((n, s) => n + s.genMs, 0);
  return ms > 0 ? tokens / (ms / 1000) : NaN;
}

/** The q-quantile (0..1) of some samples, interpolated. */
function quantile(samples: number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (at - lo);
}

/** "+6.1" / "-6.1": a signed difference in ms. */
const signed = (ms: number) => `${ms >= 0 ? "+" : "-"}${Math.abs(ms).toFixed(1)}`;

function sample(t0: number, first: number, last: number, tokens: number): Sample {
  return { ttftMs: first - t0, tokPerSec: tokens > 1 ? (tokens - 1) / ((last - first) / 1000) : 0, tokens, totalMs: last - t0, genMs: last - first };
}

/** One streamed chat through /v1, timed from this side. */
async function viaV1(url: string, token: string, maxTokens = MAX_TOKENS): Promise<Sample> {
  const t = await streamChat(agent, new URL("/v1/chat/completions", url), token, {
    model: LLM_MODEL,
    messages: [{ role: "user", content: PROMPT }],
    max_tokens: maxTokens,
    temperature: 0,
    seed: SEED,
  });
  return sample(t.t0, t.first, t.last, t.tokens);
}

const agent = keepAliveAgent();

export const scenario: Scenario = {
  name: "llm",
  title: "9. LLM generation (/v1 vs in-process)",
  async run(ctx) {
    const modelsDir = llmModelsDir();
    const runs = ctx.quick ? 3 : Math.max(MIN_RUNS, ctx.runs);
    const concurrencyRuns = ctx.quick ? 3 : Math.max(MIN_CONCURRENCY_RUNS, ctx.runs);
    const manifest = shippedManifest("llmserver");
    /**
     * A daemon with HTTP and llmserver at `parallel` sequences; its URL and root token.
     * `threadsBatch` (threads for a decode of several tokens) is THREADS in the comparison with
     * in-process node-llama-cpp, which has one thread count for all; the 4-stream daemon keeps
     * llmserver's default (every core).
     */
    const boot = async (parallel: number, threadsBatch?: number) => {
      const port = await freePort();
      const d = await bootDaemon({
        manifests: {
          llmserver: {
            ...manifest,
            cwd: join(ROOT, "plugins", "llmserver"),
            watch: [],
            config: { ...(manifest.config as object), threads: THREADS, parallel, ...(threadsBatch ? { threadsBatch } : {}) },
          },
        },
        // The daemon hands plugins BKG_MODELS_DIR from its models.dir (a manifest cannot override it).
        config: { models: { dir: modelsDir }, http: { enabled: true, host: "127.0.0.1", port, rateLimit: { perCredential: 0, perIp: 0 }, accessLog: false } },
      });
      // HTTP listens a moment after the socket answers.
      const url = `http://127.0.0.1:${port}`;
      await waitFor(
        () =>
          fetch(`${url}/health`).then(
            (r) => r.ok,
            () => false,
          ),
        "the HTTP port",
        30_000,
        50,
      );
      return { d, url, token: readFileSync(join(d.dir, "data", "root.token"), "utf8").trim() };
    };
    // The one-stream comparison: one sequence in both, as an in-process program would set it up.
    const { d, url, token } = await boot(1, THREADS);

    const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath: llmModelFile(modelsDir), gpuLayers: 0 });
    const context = await model.createContext({ sequences: 1, contextSize: 2048, threads: THREADS });
    const sequence = context.getSequence();
    // Resolved once, as llmserver does at load (LlamaChat's "auto" resolves it on every construction).
    const chatWrapper = resolveChatWrapper(model);
    const inProcess = async (maxTokens = MAX_TOKENS): Promise<Sample> => {
      const t0 = performance.now();
      const chat = new LlamaChat({ contextSequence: sequence, chatWrapper, autoDisposeSequence: false });
      try {
        let first = 0;
        let last = 0;
        let tokens = 0;
        await chat.generateResponse(
          [
            { type: "user", text: PROMPT },
            { type: "model", response: [] },
          ],
          {
            maxTokens,
            temperature: 0,
            seed: SEED,
            onToken: (t) => void (tokens += t.length),
            onTextChunk: () => {
              last = performance.now();
              if (!first) first = last;
            },
          },
        );
        return sample(t0, first, last, tokens);
      } finally {
        chat.dispose({ disposeSequence: false });
      }
    };

    let stopLast = async () => {};
    try {
      // Warm-up: loads the plugin's model (and both caches of the prompt's prefix).
      await viaV1(url, token);
      await inProcess();
      const bkg: Sample[] = [];
      const local: Sample[] = [];
      /** TTFT of every pair: the long runs' and the probes'. */
      const ttftPairs: { bkg: number; local: number }[] = [];
      /** One pair, the order alternating with `k`. */
      const pair = async (k: number, maxTokens: number): Promise<[Sample, Sample]> => {
        if (k % 2 === 0) {
          const b = await viaV1(url, token, maxTokens);
          return [b, await inProcess(maxTokens)];
        }
        const l = await inProcess(maxTokens);
        return [await viaV1(url, token, maxTokens), l];
      };
      for (let r = 0; r < runs; r++) {
        const [b, l] = await pair(r, MAX_TOKENS);
        bkg.push(b);
        local.push(l);
        ttftPairs.push({ bkg: b.ttftMs, local: l.ttftMs });
        for (let k = 0; k < PROBES_PER_RUN; k++) {
          const [pb, pl] = await pair(r + k + 1, PROBE_TOKENS);
          ttftPairs.push({ bkg: pb.ttftMs, local: pl.ttftMs });
        }
        ctx.log(`llm: run ${r + 1}/${runs}: /v1 ${b.tokPerSec.toFixed(1)} tok/s, in-process ${l.tokPerSec.toFixed(1)} tok/s; TTFT ${b.ttftMs.toFixed(1)} vs ${l.ttftMs.toFixed(1)} ms`);
      }
      // The in-process model and the first daemon are let go before the concurrency runs.
      await context.dispose();
      await model.dispose();
      await d.stop();
      const four4 = await boot(4);
      stopLast = () => four4.d.stop();
      await viaV1(four4.url, four4.token);

      const concurrent: number[] = [];
      const single: number[] = [];
      for (let r = 0; r < concurrencyRuns; r++) {
        const four = await Promise.all([0, 1, 2, 3].map(() => viaV1(four4.url, four4.token)));
        const wall = Math.max(...four.map((s) => s.totalMs)) / 1000;
        concurrent.push(four.reduce((n, s) => n + s.tokens, 0) / wall);
        const one = await viaV1(four4.url, four4.token);
        single.push(one.tokens / (one.totalMs / 1000));
        ctx.log(`llm: concurrency run ${r + 1}/${concurrencyRuns}: 4 streams ${concurrent.at(-1)!.toFixed(1)} tok/s total, 1 stream ${single.at(-1)!.toFixed(1)} tok/s`);
      }

      const bTps = summarize(bkg.map((s) => s.tokPerSec));
      const lTps = summarize(local.map((s) => s.tokPerSec));
      const bTtft = summarize(ttftPairs.map((p) => p.bkg));
      const lTtft = summarize(ttftPairs.map((p) => p.local));
      const ttftDelta = summarize(ttftPairs.map((p) => p.bkg - p.local));
      const four = summarize(concurrent);
      const one = summarize(single);
      const pairRatios = summarize(bkg.map((s, i) => s.tokPerSec / local[i].tokPerSec));
      const kept = trimPairs(bkg, local, TRIM);
      const bPooled = pooledTokPerSec(kept.bkg);
      const lPooled = pooledTokPerSec(kept.local);
      const tpsRatio = bPooled / lPooled;
      const untrimmed = pooledTokPerSec(bkg) / pooledTokPerSec(local);
      const rows: Row[] = [
        {
          case: `1 stream, ${MAX_TOKENS} tokens max, ${THREADS} thread`,
          subject: "bkg /v1 stream",
          metrics: [
            { label: "gen tok/s", summary: bTps, digits: 1 },
            { label: "TTFT ms", summary: bTtft, digits: 1 },
            { label: "tokens", summary: summarize(bkg.map((s) => s.tokens)) },
          ],
          vs: `${tpsRatio.toFixed(2)}x in-process tok/s (pooled), TTFT ${signed(ttftDelta.median)} ms (paired median)`,
        },
        {
          case: `1 stream, ${MAX_TOKENS} tokens max, ${THREADS} thread`,
          subject: "node-llama-cpp in-process",
          metrics: [
            { label: "gen tok/s", summary: lTps, digits: 1 },
            { label: "TTFT ms", summary: lTtft, digits: 1 },
            { label: "tokens", summary: summarize(local.map((s) => s.tokens)) },
          ],
        },
        { case: "4 concurrent /v1 streams", subject: "bkg /v1 stream x4", metrics: [{ label: "total tok/s", summary: four, digits: 1 }], vs: `${ratio(four, one).toFixed(2)}x 1 stream` },
        { case: "4 concurrent /v1 streams", subject: "bkg /v1 stream x1", metrics: [{ label: "total tok/s", summary: one, digits: 1 }] },
      ];
      const targets: TargetCheck[] = [
        {
          target: "/v1 streaming >= 0.95x in-process generation tokens/s",
          met: tpsRatio >= 0.95,
          detail: `${tpsRatio.toFixed(3)}x pooled over ${kept.bkg.length} of ${runs} interleaved pairs (${bPooled.toFixed(1)} vs ${lPooled.toFixed(1)} tok/s; the ${kept.dropped / 2} with the lowest and the ${kept.dropped / 2} with the highest ratio left out); for reference: all ${runs} pooled ${untrimmed.toFixed(3)}x, per-side medians ${bTps.median.toFixed(1)} vs ${lTps.median.toFixed(1)} tok/s (${ratio(bTps, lTps).toFixed(3)}x), paired median of per-pair ratios ${pairRatios.median.toFixed(3)}x (${pairRatios.min.toFixed(2)}-${pairRatios.max.toFixed(2)})`,
        },
        {
          target: "/v1 time to first token at most +15 ms over in-process",
          met: ttftDelta.median <= 15,
          detail: `${bTtft.median.toFixed(1)} vs ${lTtft.median.toFixed(1)} ms: ${signed(ttftDelta.median)} ms (paired median of ${ttftDelta.n} pairs, middle half ${signed(quantile(ttftDelta.samples, 0.25))} to ${signed(quantile(ttftDelta.samples, 0.75))}; all ${signed(ttftDelta.min)} to ${signed(ttftDelta.max)})`,
        },
        {
          target: "4 concurrent streams deliver more tokens/s in total than 1",
          met: four.median > one.median,
          detail: `${four.median.toFixed(1)} vs ${one.median.toFixed(1)} tok/s: ${ratio(four, one).toFixed(2)}x`,
        },
      ];
      return {
        available: true,
        rows,
        targets,
        notes: [
          `SmolLM2-135M-Instruct Q4_1, temperature 0, seed ${SEED}, max_tokens ${MAX_TOKENS}, ${THREADS} thread in both (the machine has ${availableParallelism()} cores); ${runs} runs each, in pairs whose order alternates, after one warm-up each.`,
          `gen tok/s: (completion tokens - 1) / (last - first text), per run (the cells); the verdict is pooled: each side's tokens after the first summed over the pairs, divided by its first-to-last-text time summed, and the ratio of the two rates; the ${Math.floor(runs * TRIM)} pairs with the lowest and the ${Math.floor(runs * TRIM)} with the highest per-pair ratio are left out (a load spike lands on one side of one pair). Both sides ran in the same interleaved pairs, so a slow stretch of the machine weighs on both; a median of per-pair ratios swung 0.81-1.02 between runs whose per-side medians were equal. TTFT: request made / generateResponse called -> first text (a parsed SSE chunk with content / onTextChunk), over the ${runs} runs and ${runs * PROBES_PER_RUN} probe pairs of ${PROBE_TOKENS} tokens between them; the verdict is the median of the per-pair differences.`,
          "The /v1 client is node:http with a keep-alive agent; undici's fetch added 1-3 ms per request of its own here (a client cost, not the server's). Both keep their sequence between runs, so the prompt's evaluation is reused the same way in both; llmserver opens the response (headers, role chunk) when it starts generating, the in-process side has nothing to open.",
          `The one-stream comparison runs llmserver with parallel 1 (one sequence, as the in-process program has) and threadsBatch ${THREADS} (the in-process side has one thread count for every decode). 4 streams: a second daemon with parallel 4 and llmserver's default threadsBatch (${availableParallelism()}, every core; one-token steps keep ${THREADS} thread), whose 4 sequences share one context and are decoded together in batches (node-llama-cpp's dispatch mostly takes 3 of the 4 per batch); total tok/s is all completion tokens over the slowest stream's wall time; 1 stream is one request through the same daemon (tokens over its wall time); ${concurrencyRuns} runs of each.`,
        ],
      };
    } finally {
      await d.stop();
      await stopLast();
    }
  },
};
