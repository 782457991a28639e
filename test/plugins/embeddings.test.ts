/**
 * The embeddings plugin, spawned by a real daemon, with the real all-MiniLM-L6-v2 int8 ONNX model.
 * Its vectors are checked against an independent fp32 reference (the safetensors weights through
 * a plain TypeScript BERT, test/helpers/bert-reference.ts), against semantic expectations, and its
 * batching, truncation and bad-input answers are checked over the bus.
 */
import t from "tap";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { BertReference } from "../helpers/bert-reference.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { embeddingsManifest, minilmModelsDir, MINILM, MINILM_FP32 } from "../helpers/embeddings-plugin.js";

interface EmbedResult {
  data: { index: number; embedding: number[] }[];
  model: string;
  dimensions: number;
  usage: { prompt_tokens: number; total_tokens: number };
}
interface BatchStats {
  runs: number;
  items: number;
  calls: number;
  mergedRuns: number;
  largestRun: number;
}

const modelsDir = await minilmModelsDir();
const tokenizer = new Tokenizer(JSON.parse(readFileSync(join(modelsDir, MINILM, "tokenizer.json"), "utf8")), {});
const ids = (text: string) => tokenizer.encode(text).ids;
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

const MAX_INPUTS = 100;
let d: TestDaemon;
t.before(async () => {
  // maxWaitMs 25: concurrent test calls reliably meet in one run even on a loaded machine.
  d = await startTestDaemon({ embeddings: embeddingsManifest(modelsDir, { maxWaitMs: 25, maxInputs: MAX_INPUTS }) });
});
t.teardown(() => d?.stop());

const embed = (input: unknown[], extra: Record<string, unknown> = {}) => d.client.call<EmbedResult>("embeddings.embed", { input, ...extra });

t.test("vectors match an independent fp32 BERT on the safetensors weights", async (t) => {
  const sentences = ["A man is eating food.", "The new movie is awesome!", "PostgreSQL 16 ships with logical replication improvements."];
  const r = await embed(sentences);
  t.equal(r.model, MINILM);
  t.equal(r.dimensions, 384);
  t.same(
    r.data.map((x) => x.index),
    [0, 1, 2],
    "one result per input, in order",
  );
  const reference = new BertReference(join(modelsDir, MINILM_FP32, "model.safetensors"), join(modelsDir, MINILM_FP32, "config.json"));
  sentences.forEach((s, i) => {
    const got = r.data[i].embedding;
    t.equal(got.length, 384);
    t.ok(Math.abs(Math.hypot(...got) - 1) < 1e-4, `input ${i} is unit length`);
    const cos = dot(got, reference.embed(ids(s)));
    t.ok(cos > 0.99, `"${s}": cosine with the fp32 reference ${cos.toFixed(4)} > 0.99`);
  });
  // The tokenizer itself against BERT's well-known uncased vocabulary ids.
  t.same(ids("Hello world"), [101, 7592, 2088, 102], "[CLS] hello world [SEP]");
  t.equal(
    r.usage.prompt_tokens,
    sentences.reduce((n, s) => n + ids(s).length, 0),
    "prompt_tokens counts every token the model read",
  );
  t.equal(r.usage.total_tokens, r.usage.prompt_tokens);
});

t.test("paraphrases are closer than unrelated sentences", async (t) => {
  const pairs: [string, string, string][] = [
    ["How do I reset my password?", "I forgot my login credentials and need to change them.", "The recipe needs two cups of flour."],
    ["The cat sat on the mat.", "A kitten was resting on the rug.", "Interest rates rose by half a percent."],
    ["The server crashed after the update.", "After upgrading, the machine went down.", "She painted the fence bright green."],
    ["Where is the nearest train station?", "How can I get to the closest railway stop?", "Photosynthesis converts light into chemical energy."],
  ];
  const r = await embed(pairs.flat());
  const v = r.data.map((x) => x.embedding);
  pairs.forEach(([a], i) => {
    const para = dot(v[3 * i], v[3 * i + 1]);
    const unrelated = dot(v[3 * i], v[3 * i + 2]);
    t.ok(para > unrelated + 0.2, `"${a}": paraphrase ${para.toFixed(3)} vs unrelated ${unrelated.toFixed(3)}`);
  });
});

t.test("padding in a batch does not change a vector (the attention mask is honoured)", async (t) => {
  const short = "Short sentence.";
  // Two tokens longer: the same length group (onnx-embedder.ts lengthGroups), so short is padded.
  const longer = "Short sentence, longer.";
  t.equal(ids(longer).length, ids(short).length + 2, "the longer one has two more tokens");
  const alone = (await embed([short])).data[0].embedding;
  const together = (await embed([longer, short, longer])).data[1].embedding;
  t.ok(dot(alone, together) > 0.9999, `cosine alone vs padded ${dot(alone, together)}`);
});

t.test("a 5,000-word input is truncated to 256 tokens, keeping [SEP]", async (t) => {
  // Single-token words, so the first 254 words are exactly the 254 tokens the model may keep.
  const words = ["river", "stone", "bridge", "water", "forest", "mountain", "valley", "road"];
  const head = Array.from({ length: 254 }, (_, i) => words[i % words.length]);
  t.ok(
    words.every((w) => ids(w).length === 3),
    "every word is one token",
  );
  const tail = Array.from({ length: 5000 - 254 }, (_, i) => ["invoice", "payment", "bank", "tax"][i % 4]);
  const r = await embed([[...head, ...tail].join(" "), head.join(" ")]);
  t.equal(r.usage.prompt_tokens, 256 + 256, "both read as 256 tokens: [CLS] + 254 words + [SEP]");
  const cos = dot(r.data[0].embedding, r.data[1].embedding);
  t.ok(cos > 0.9999, `the long text embeds as its first 254 words plus [SEP] (cosine ${cos})`);
});

t.test("concurrent calls are merged into one inference run", async (t) => {
  const stats = async () => (await d.client.call<{ models: Record<string, BatchStats> }>("embeddings.stats", {})).models[MINILM];
  const before = await stats();
  const sentences = Array.from({ length: 16 }, (_, i) => `Caller number ${i} asks about topic ${i * 7}.`);
  const results = await Promise.all(sentences.map((s) => embed([s])));
  const after = await stats();
  t.equal(after.calls - before.calls, 16, "16 single-sentence calls");
  t.equal(after.items - before.items, 16);
  const runs = after.runs - before.runs;
  t.ok(runs < 16, `16 concurrent calls took ${runs} inference run(s), fewer than one each`);
  t.ok(after.mergedRuns > before.mergedRuns, "at least one run served several calls");
  t.ok(after.largestRun > 1, `largest run ${after.largestRun} texts`);
  // Merged or not, each caller gets its own sentence's vector.
  const batch = await embed(sentences);
  results.forEach((r, i) => t.ok(dot(r.data[0].embedding, batch.data[i].embedding) > 0.9999, `caller ${i} got its own vector`));
});

t.test("encoding_format base64 carries the same vectors as float32 bytes", async (t) => {
  const input = ["Base64 is smaller on the wire.", "So are rounded floats."];
  const floats = await embed(input);
  const b64 = await d.client.call<{ data: { index: number; embedding: string }[]; dimensions: number }>("embeddings.embed", { input, encoding_format: "base64" });
  b64.data.forEach((x, i) => {
    t.type(x.embedding, "string");
    const bytes = Buffer.from(x.embedding, "base64");
    const v = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    t.equal(v.length, b64.dimensions);
    const maxDiff = Math.max(...Array.from(v, (y, j) => Math.abs(y - floats.data[i].embedding[j])));
    t.ok(maxDiff < 1e-8, `input ${i}: float and base64 forms agree (max difference ${maxDiff})`);
  });
});

t.test("models lists what the plugin can serve", async (t) => {
  const { models } = await d.client.call<{ models: { name: string; format: string; loaded: boolean; dimensions?: number; maxTokens: number }[] }>("embeddings.models", {});
  t.same(models, [{ name: MINILM, format: "onnx", loaded: true, maxTokens: 256, dimensions: 384 }], "the ONNX model, loaded; the safetensors one is not for this plugin");
});

t.test("bad input", async (t) => {
  const fails = async (params: Record<string, unknown>, code: number, message: RegExp, what: string) => {
    await t.rejects(d.client.call("embeddings.embed", params), { code, message }, what);
  };
  await fails({ input: [] }, -32602, /input must be a non-empty array of strings/, "empty input");
  await fails({ input: "just a string" }, -32602, /invalid params for embeddings.embed: \/input must be array/, "input that is not an array");
  await fails({}, -32602, /input/, "no input");
  await fails({ input: ["ok", 42] }, -32602, /input\[1\] is a number; every input must be a string/, "non-string input");
  await fails({ input: ["ok", null] }, -32602, /input\[1\] is null/, "null input");
  await fails({ input: ["ok", "   "] }, -32602, /input\[1\] is empty/, "blank text");
  await fails(
    { input: Array.from({ length: MAX_INPUTS + 1 }, () => "x") },
    -32602,
    new RegExp(`input has ${MAX_INPUTS + 1} texts; at most ${MAX_INPUTS} per call \\(config maxInputs\\)`),
    "too many inputs",
  );
  await fails({ input: ["x"], model: "no-such-model" }, -32602, /model "no-such-model" is not pulled: run `bkg models pull no-such-model`/, "model not pulled");
  await fails({ input: ["x"], model: MINILM_FP32 }, -32602, /is a safetensors model, not an ONNX text embedder/, "a model of another format");
  await fails({ input: ["x"], encoding_format: "hex" }, -32602, /encoding_format must be "float" or "base64", got "hex"/, "unknown encoding_format");
  await fails({ input: ["x"], colour: "blue" }, -32602, /unknown property "colour"/, "unknown parameter");
  const err = await d.client.call("embeddings.embed", { input: ["x"], model: "no-such-model" }).catch((e: { data?: unknown }) => e.data);
  t.same(err, { reason: "model_not_pulled", model: "no-such-model", available: [MINILM] }, "the error lists the models that are pulled");
  // The plugin still serves after all of that.
  t.equal((await embed(["still here"])).data.length, 1);
});
