/**
 * llmserver's two thread counts (plugins/llmserver/src/batch-threads.ts) on the real
 * node-llama-cpp and the real SmolLM2 GGUF: a decode of several tokens runs with threadsBatch,
 * a decode of one token with threads. It wraps node-llama-cpp's native context, so this is what
 * breaks first when node-llama-cpp changes under it.
 */
import t from "tap";
import { join } from "node:path";
import { LlamaCompletion, type LlamaContext } from "node-llama-cpp";
import { useBatchThreads } from "../../plugins/llmserver/dist/batch-threads.js";
import { llama } from "../../plugins/llmserver/dist/model-pool.js";
import { readModelRecord } from "../../src/models/index.js";
import { MODEL } from "../helpers/llm.js";
import { testModelsDir } from "../helpers/models.js";

interface Native {
  initBatch(size: number): void;
  setThreads(n: number): void;
  decodeBatch(): Promise<void>;
}

/** Records, for every decode, how many tokens it held and with how many threads it ran. */
function spyOnNative(context: LlamaContext): { size: number; threads: number }[] {
  const native = (context as unknown as { _ctx: Native })._ctx;
  const decodes: { size: number; threads: number }[] = [];
  let size = 0;
  let threads = 1;
  const init = native.initBatch.bind(native);
  const set = native.setThreads.bind(native);
  const decode = native.decodeBatch.bind(native);
  const define = (name: keyof Native, fn: unknown) => Object.defineProperty(native, name, { value: fn, configurable: true, writable: true });
  define("initBatch", (n: number) => {
    size = n;
    init(n);
  });
  define("setThreads", (n: number) => {
    threads = n;
    set(n);
  });
  define("decodeBatch", () => {
    decodes.push({ size, threads });
    return decode();
  });
  return decodes;
}

t.test("one-token steps run with threads, batches of several tokens with threadsBatch", async (t) => {
  const dir = await testModelsDir([MODEL]);
  const record = readModelRecord(dir, MODEL)!;
  const model = await (await llama()).loadModel({ modelPath: join(dir, MODEL, record.files.model), gpuLayers: 0 });
  t.teardown(() => model.dispose());
  const context = await model.createContext({ sequences: 2, contextSize: 256, threads: 1 });
  t.teardown(() => context.dispose());
  const decodes = spyOnNative(context);
  t.equal(useBatchThreads(context, { threads: 1, threadsBatch: 2 }), true, "node-llama-cpp's context is laid out as batch-threads.ts expects");

  const sequences = [context.getSequence(), context.getSequence()];
  const complete = (i: number, prompt: string) => new LlamaCompletion({ contextSequence: sequences[i], autoDisposeSequence: false }).generateCompletion(prompt, { maxTokens: 12, temperature: 0 });
  const alone = await complete(0, "The lighthouse keeper opened the bottle and read");
  const together = await Promise.all([complete(0, "Once upon a time, a fox"), complete(1, "The recipe for bread begins with")]);
  for (const text of [alone, ...together]) t.ok(text.trim().length > 0, `the model wrote: ${JSON.stringify(text)}`);

  const single = decodes.filter((d) => d.size === 1);
  const batches = decodes.filter((d) => d.size > 1);
  t.ok(single.length >= 8, `one-token steps decoded (${single.length}): the lone completion's`);
  // The prompts are the batches here: node-llama-cpp 3.21 decodes whatever is queued the moment
  // the previous batch ends, so two generating sequences here mostly take turns (with four, it
  // mostly takes three per batch; docs/benchmarks.md, llm).
  t.ok(batches.length >= 2, `the prompts were decoded as batches (decode sizes: ${decodes.map((d) => d.size).join(" ")})`);
  t.same([...new Set(single.map((d) => d.threads))], [1], "every one-token step ran with 1 thread");
  t.same([...new Set(batches.map((d) => d.threads))], [2], "every batch of several tokens ran with 2 threads");
  t.ok(
    decodes.some((d, i) => i > 0 && d.size === 1 && decodes[i - 1].size > 1),
    "a one-token step right after a batch went back to 1 thread",
  );
});

t.test("a context it cannot wrap is left alone, and the caller is told", async (t) => {
  const stranger = { _ctx: { decodeBatch: async () => {} } } as unknown as LlamaContext;
  t.equal(useBatchThreads(stranger, { threads: 1, threadsBatch: 2 }), false);
  t.equal(useBatchThreads({} as LlamaContext, { threads: 1, threadsBatch: 2 }), false);
  t.equal(useBatchThreads({} as LlamaContext, { threads: 2, threadsBatch: 2 }), true, "nothing to wrap when the two are the same");
});
