/**
 * The candle plugin with its real binary, built by the manifest's build step (cargo), and the
 * real all-MiniLM-L6-v2 safetensors weights: embeddings (checked against the ONNX embeddings
 * plugin running beside it in the same daemon, int8 vs fp32, and against a plain TypeScript BERT),
 * /v1/embeddings routed by model name, BrainML embedding with it, training (linear recovers its weights within 1%, logistic
 * separates two classes above 95%, an mlp learns XOR), save / load by sha256 / run round-trip,
 * and every bad input of issue 14.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { BertReference } from "../helpers/bert-reference.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { brainmlManifest } from "../helpers/brainml.js";
import { api } from "../helpers/http.js";
import { embeddingsManifest, MINILM } from "../helpers/embeddings-plugin.js";
import { CANDLE_MODEL, candleDaemonEnv, candleManifest, candleModelDir, scratchModelsDir, writeSafetensors } from "../helpers/candle-plugin.js";

t.setTimeout(40 * 60_000); // a clean cargo build of candle takes minutes on a busy 2-core machine

type Err = { code: number; message: string; data?: { reason?: string } };
const fails = (p: Promise<unknown>): Promise<Err> =>
  p.then(
    (v) => {
      throw new Error(`expected an error, got ${JSON.stringify(v).slice(0, 200)}`);
    },
    (e: Err) => e,
  );

/** A seeded generator: the generated sets are the same every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

interface Embedding {
  data: { index: number; embedding: number[] }[];
  model: string;
  dimensions: number;
  usage: { prompt_tokens: number };
}

let d: TestDaemon;
let modelsDir: string;

const modelDir = await candleModelDir();

t.before(async () => {
  modelsDir = await scratchModelsDir([CANDLE_MODEL, MINILM]);
  process.stderr.write(
    `candle: the daemon builds plugins/candle with cargo (its manifest's build step) into ${candleDaemonEnv().CARGO_TARGET_DIR}; the first build takes minutes, later runs reuse it\n`,
  );
  // The ONNX embeddings plugin beside it: the same sentences through both, in the same daemon.
  // BrainML too: a collection can name candle.embed as its embedder.
  d = await startTestDaemon(
    { candle: candleManifest(modelsDir), embeddings: embeddingsManifest(modelsDir, { threads: 1 }, { activation: "eager" }), brainml: brainmlManifest() },
    {},
    { env: candleDaemonEnv() },
  );
  const started = Date.now();
  await d.waitState("candle", ["ready", "build-failed", "failed"], 35 * 60_000);
  await d.waitState("embeddings", "ready", 120_000);
  const info = await d.client.plugins.info("candle");
  if (info.state !== "ready") throw new Error(`candle is ${info.state}: ${info.reason}\n${info.build?.tail?.join("\n") ?? ""}`);
  t.comment(`candle build: ${info.build?.progress} (${info.build?.state}; ready after ${((Date.now() - started) / 1000).toFixed(1)} s)`);
});
t.teardown(async () => {
  await d?.stop();
  rmSync(modelsDir, { recursive: true, force: true });
});

t.test("the manifest build ran cargo and recorded it", async (t) => {
  const info = await d.client.plugins.info("candle");
  t.match(info.build, { state: /^(succeeded|skipped)$/ });
  const record = JSON.parse(readFileSync(join(d.dir, "data", "builds", "candle.json"), "utf8"));
  t.match(record, { hash: /^[0-9a-f]{64}$/ }, "the successful build's input hash is kept in the data folder");
});

t.test("embed: 384-d, L2-normalised, meaning-aware, batch-invariant (the attention mask is honoured)", async (t) => {
  const sentences = ["A man is playing a guitar.", "Someone plays an acoustic guitar.", "The stock market fell sharply today."];
  const r = await d.client.call<Embedding>("candle.embed", { input: sentences });
  t.equal(r.model, CANDLE_MODEL, "the default model");
  t.equal(r.dimensions, 384);
  t.equal(r.data.length, 3);
  t.ok(r.usage.prompt_tokens > 10, "tokens counted");
  for (const e of r.data) t.ok(Math.abs(Math.hypot(...e.embedding) - 1) < 1e-4, `row ${e.index} has unit length`);
  const [a, b, c] = r.data.map((e) => e.embedding);
  t.ok(dot(a, b) > 0.6, `paraphrases are close (${dot(a, b).toFixed(3)})`);
  t.ok(dot(a, c) < 0.2, `unrelated sentences are not (${dot(a, c).toFixed(3)})`);
  t.ok(dot(a, b) - dot(a, c) > 0.4, "and far apart from each other");
  // Alone vs beside a long sentence (padded to its length): the same vector if the mask is used.
  const long = "This is a much longer sentence that forces every other sentence in the batch to be padded with many pad tokens.";
  const alone = await d.client.call<Embedding>("candle.embed", { input: sentences[0] });
  const padded = await d.client.call<Embedding>("candle.embed", { input: [long, sentences[0]] });
  t.ok(dot(alone.data[0].embedding, padded.data[1].embedding) > 0.9999, "padding does not change a sentence's embedding");
  t.ok(dot(alone.data[0].embedding, a) > 0.9999, "a string input equals the same sentence in a batch");
  const models = await d.client.call<{ models: { name: string; format: string; loaded: boolean }[] }>("candle.models", {});
  t.match(models.models, [{ name: CANDLE_MODEL, format: "safetensors", loaded: true }]);
});

/**
 * BERT's WordPiece for plain lowercase ASCII sentences (lowercase, split on spaces and
 * punctuation, greedy longest-match subwords): an independent tokeniser for the reference.
 */
function wordpiece(text: string, vocab: Record<string, number>): number[] {
  const ids = [vocab["[CLS]"]];
  for (const word of text.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? []) {
    let start = 0;
    while (start < word.length) {
      let end = word.length;
      let id: number | undefined;
      for (; end > start; end--) {
        id = vocab[(start > 0 ? "##" : "") + word.slice(start, end)];
        if (id !== undefined) break;
      }
      if (id === undefined) {
        ids.push(vocab["[UNK]"]);
        break;
      }
      ids.push(id);
      start = end;
    }
  }
  ids.push(vocab["[SEP]"]);
  return ids;
}

t.test("embed agrees with an independent fp32 BERT (plain TypeScript on the same safetensors), cosine > 0.99 per sentence", async (t) => {
  const reference = new BertReference(join(modelDir, "model.safetensors"), join(modelDir, "config.json"));
  const vocab = (JSON.parse(readFileSync(join(modelDir, "tokenizer.json"), "utf8")) as { model: { vocab: Record<string, number> } }).model.vocab;
  const sentences = ["A man is eating food.", "The new movie is awesome!", "Rust compiles the plugin before the daemon starts it.", "Two dogs play in the snow."];
  const r = await d.client.call<Embedding>("candle.embed", { input: sentences });
  sentences.forEach((s, i) => {
    const cos = dot(r.data[i].embedding, Array.from(reference.embed(wordpiece(s, vocab))));
    t.ok(cos > 0.99, `"${s}": cosine ${cos.toFixed(5)}`);
  });
});

t.test("candle (fp32 safetensors) and the ONNX embeddings plugin (int8) agree: cosine > 0.99 per sentence", async (t) => {
  const sentences = [
    "A man is eating food.",
    "The new movie is awesome!",
    "How do I reset my password?",
    "Interest rates rose by half a percent in March 2024.",
    "The server crashed after the update, and nobody noticed until Monday morning.",
    "Photosynthesis converts light into chemical energy.",
    "Zwei Hunde spielen im Schnee.",
    "Rust compiles the plugin before the daemon starts it; the ONNX model needs no build at all.",
  ];
  const [c, o] = await Promise.all([d.client.call<Embedding>("candle.embed", { input: sentences }), d.client.call<Embedding>("embeddings.embed", { input: sentences })]);
  t.equal(c.model, CANDLE_MODEL);
  t.equal(o.model, MINILM);
  t.equal(o.usage.prompt_tokens, c.usage.prompt_tokens, "both read the same tokens (the same tokenizer.json)");
  const cosines = sentences.map((s, i) => {
    const cos = dot(c.data[i].embedding, o.data[i].embedding);
    t.ok(cos > 0.99, `"${s}": cosine ${cos.toFixed(5)}`);
    return cos;
  });
  t.comment(`candle vs onnx int8: cosine min ${Math.min(...cosines).toFixed(5)}, mean ${(cosines.reduce((a, b) => a + b, 0) / cosines.length).toFixed(5)}`);
  // Each sentence is closest to its own counterpart across the two plugins.
  sentences.forEach((_, i) => {
    const best = o.data.map((x, j) => [dot(c.data[i].embedding, x.embedding), j]).sort((a, b) => b[0] - a[0])[0][1];
    t.equal(best, i, `candle's vector ${i} finds onnx's vector ${i} first`);
  });
});

t.test("/v1/embeddings: the model name picks the plugin (candle or the ONNX one)", async (t) => {
  const v1 = api(d.httpUrl!, d.rootToken());
  const input = ["A man is playing a guitar.", "The stock market fell sharply today."];
  const viaCandle = await v1("POST", "/v1/embeddings", { body: { model: CANDLE_MODEL, input } });
  const viaOnnx = await v1("POST", "/v1/embeddings", { body: { model: MINILM, input } });
  t.equal(viaCandle.status, 200, viaCandle.text.slice(0, 300));
  t.equal(viaOnnx.status, 200, viaOnnx.text.slice(0, 300));
  t.equal(viaCandle.json.model, CANDLE_MODEL);
  t.equal(viaOnnx.json.model, MINILM);
  const direct = await d.client.call<Embedding>("candle.embed", { input });
  input.forEach((_, i) => {
    t.ok(dot(viaCandle.json.data[i].embedding, direct.data[i].embedding) > 0.9999, `input ${i}: /v1 with ${CANDLE_MODEL} is candle's vector`);
    const cross = dot(viaCandle.json.data[i].embedding, viaOnnx.json.data[i].embedding);
    t.ok(cross > 0.99 && cross < 0.99999, `input ${i}: the ONNX model's vector is close but not the same (${cross.toFixed(5)})`);
  });
  // Both model folders are symlinks into the test cache (bug: embeddings.models skipped a linked folder, so /v1 could not find it).
  const models = await v1("GET", "/v1/models");
  const ids = (models.json.data as { id: string }[]).map((m) => m.id);
  t.ok(ids.includes(CANDLE_MODEL) && ids.includes(MINILM), `/v1/models lists both (${ids.join(", ")})`);
});

t.test("BrainML: a collection embedded by candle.embed finds a paraphrase by vector", async (t) => {
  const created = await d.client.call<{ dimensions: number; model: string }>("brainml.collections.create", { name: "kb-candle", model: CANDLE_MODEL, embedMethod: "candle.embed" });
  t.match(created, { dimensions: 384, model: CANDLE_MODEL }, "the collection asked candle for its dimensions");
  const documents = [
    { id: "password", text: "To reset your password, open Settings, choose Security and follow the emailed link." },
    { id: "billing", text: "Invoices are sent on the first day of each month and can be paid by card or bank transfer." },
    { id: "shipping", text: "Orders ship within two business days; international delivery takes one to three weeks." },
  ];
  await d.client.call("brainml.index", { collection: "kb-candle", documents });
  const before = await d.client.call<{ embeddings: { sentences: number } }>("candle.stats", {});
  const r = await d.client.call<{ results: { document: { id: string } }[] }>("brainml.query", {
    collection: "kb-candle",
    query: "lost my credentials, how do I regain entry?",
    mode: "vector",
    topK: 3,
  });
  t.equal(r.results[0]?.document.id, "password", "the paraphrase's document first");
  const after = await d.client.call<{ embeddings: { sentences: number } }>("candle.stats", {});
  t.ok(after.embeddings.sentences > before.embeddings.sentences, "the query was embedded by candle");
});

t.test("train linear: recovers the generating weights within 1%, with progress per epoch", async (t) => {
  const r = rng(7);
  const w = [2, -3, 0.5];
  const b = 1.5;
  const inputs = Array.from({ length: 200 }, () => w.map(() => r() * 2 - 1));
  const targets = inputs.map((x) => dot(x, w) + b + gauss(r) * 0.001);
  const progress: { epoch: number; loss: number }[] = [];
  const res = await d.client.call<{ id: string; parameters: { weight: number[][]; bias: number[] }; metrics: { r2: number }; lossCurve: number[]; sha256: string; path: string }>(
    "candle.train",
    { kind: "linear", inputs, targets, epochs: 400, lr: 0.5, id: "lin" },
    { onProgress: (v) => progress.push(v as { epoch: number; loss: number }) },
  );
  t.equal(progress.length, 400, "one progress value per epoch");
  t.same(
    progress.slice(0, 2).map((p) => p.epoch),
    [1, 2],
  );
  t.ok(progress[399].loss < progress[0].loss / 100, "the loss fell");
  t.equal(res.lossCurve.length, 400);
  w.forEach((wi, i) => {
    const got = res.parameters.weight[0][i];
    t.ok(Math.abs(got - wi) / Math.abs(wi) < 0.01, `weight ${i}: ${got.toFixed(4)} vs ${wi}`);
  });
  t.ok(Math.abs(res.parameters.bias[0] - b) / b < 0.01, `bias: ${res.parameters.bias[0].toFixed(4)} vs ${b}`);
  t.ok(res.metrics.r2 > 0.999, `R² ${res.metrics.r2}`);
  t.match(res, { id: "lin", sha256: /^[0-9a-f]{64}$/, path: /models\/lin\.safetensors$/ });
});

t.test("train logistic: separates a generated two-class set above 95%", async (t) => {
  const r = rng(11);
  const make = (n: number) => {
    const inputs: number[][] = [];
    const targets: number[] = [];
    for (let i = 0; i < n; i++) {
      const cls = i % 2;
      const c = cls ? 1.5 : -1.5;
      inputs.push([c + gauss(r), c + gauss(r)]);
      targets.push(cls);
    }
    return { inputs, targets };
  };
  const train = make(400);
  const res = await d.client.call<{ metrics: { accuracy: number } }>("candle.train", { kind: "logistic", ...train, epochs: 200, lr: 0.5, id: "logit" });
  t.ok(res.metrics.accuracy > 0.95, `training accuracy ${res.metrics.accuracy}`);
  const test = make(200);
  const run = await d.client.call<{ classes: number[]; probabilities: number[][] }>("candle.model.run", { id: "logit", inputs: test.inputs });
  const acc = run.classes.filter((c, i) => c === test.targets[i]).length / test.targets.length;
  t.ok(acc > 0.95, `held-out accuracy ${acc}`);
  t.ok(Math.abs(run.probabilities[0][0] + run.probabilities[0][1] - 1) < 1e-5, "probabilities sum to 1");
});

t.test("train mlp: learns XOR, which no linear model can", async (t) => {
  const r = rng(3);
  const inputs = Array.from({ length: 200 }, () => [r() * 2 - 1, r() * 2 - 1]).filter(([x, y]) => Math.abs(x) > 0.1 && Math.abs(y) > 0.1);
  const targets = inputs.map(([x, y]) => (x * y > 0 ? 1 : 0));
  const res = await d.client.call<{ metrics: { accuracy: number }; shape: { hidden: number } }>("candle.train", {
    kind: "mlp",
    hidden: 16,
    inputs,
    targets,
    epochs: 400,
    lr: 0.05,
    optimizer: "adamw",
    id: "xor",
  });
  t.ok(res.metrics.accuracy > 0.9, `accuracy ${res.metrics.accuracy}`);
  t.equal(res.shape.hidden, 16);
});

t.test("save, load by sha256 from the models folder, run: the same outputs", async (t) => {
  const saved = (await d.client.call<{ models: { id: string; path: string; sha256: string }[] }>("candle.model.list", {})).models.find((m) => m.id === "lin")!;
  t.ok(saved, "the trained model is listed");
  mkdirSync(join(modelsDir, "trained"));
  copyFileSync(saved.path, join(modelsDir, "trained", "lin.safetensors")); // what the store would do
  const loaded = await d.client.call<{ id: string; sha256: string; source: string }>("candle.model.load", { id: "lin-copy", path: "trained/lin.safetensors", sha256: saved.sha256 });
  t.match(loaded, { id: "lin-copy", sha256: saved.sha256, source: "loaded" });
  const inputs = [
    [0.1, 0.2, 0.3],
    [-1, 0, 1],
  ];
  const a = await d.client.call<{ outputs: number[][] }>("candle.model.run", { id: "lin", inputs });
  const b = await d.client.call<{ outputs: number[][] }>("candle.model.run", { id: "lin-copy", inputs });
  t.same(b.outputs, a.outputs, "identical outputs");
  t.ok(Math.abs(a.outputs[1][0] - (-2 + 0.5 + 1.5)) < 0.05, `and the right ones (${a.outputs[1][0]})`);
  const wrongSha = await fails(d.client.call("candle.model.load", { id: "x", path: "trained/lin.safetensors", sha256: "0".repeat(64) }));
  t.match(wrongSha, { code: -32602, data: { reason: "sha256-mismatch" }, message: /has sha256 [0-9a-f]{64}, not the 0{64} asked for/ });
  const del = await d.client.call("candle.model.delete", { id: "lin-copy" });
  t.match(del, { deleted: true, fileRemoved: false });
  t.match(await fails(d.client.call("candle.model.run", { id: "lin-copy", inputs })), { code: -32602, data: { reason: "unknown-model" } });
});

t.test("bad input: paths outside the models folder, corrupt files, wrong architectures", async (t) => {
  for (const path of ["../../../../etc/hostname", "/etc/hostname"]) {
    const e = await fails(d.client.call("candle.model.load", { id: "evil", path }));
    t.match(e, { code: -32602, data: { reason: "path-outside-models" }, message: /outside the models folder/ }, path);
  }
  symlinkSync("/etc/hostname", join(modelsDir, "sneaky.safetensors"));
  t.match(await fails(d.client.call("candle.model.load", { id: "evil", path: "sneaky.safetensors" })), { data: { reason: "path-outside-models" } }, "a symlink out is refused too");

  writeFileSync(join(modelsDir, "corrupt.safetensors"), "this is not a safetensors file at all");
  t.match(await fails(d.client.call("candle.model.load", { id: "c", path: "corrupt.safetensors" })), { code: -32602, data: { reason: "corrupt-file" }, message: /is not a valid safetensors file/ });
  writeSafetensors(join(modelsDir, "foreign.safetensors"), { "encoder.weight": { shape: [2], data: [1, 2] } });
  t.match(await fails(d.client.call("candle.model.load", { id: "f", path: "foreign.safetensors" })), { data: { reason: "wrong-architecture" }, message: /not a model trained by candle\.train/ });
  writeSafetensors(
    join(modelsDir, "misshapen.safetensors"),
    { "layer0.weight": { shape: [1, 2], data: [1, 2] }, "layer0.bias": { shape: [1], data: [0] } },
    { "bkg.kind": "linear", "bkg.task": "regression", "bkg.inputs": "3", "bkg.outputs": "1" },
  );
  t.match(await fails(d.client.call("candle.model.load", { id: "m", path: "misshapen.safetensors" })), {
    data: { reason: "wrong-architecture" },
    message: /tensor layer0\.weight has shape \[1, 2\], expected \[1, 3\]/,
  });

  // Embedding models: not pulled, of another architecture, with corrupt weights.
  t.match(await fails(d.client.call("candle.embed", { input: ["x"], model: "nope" })), { code: -32602, message: 'model "nope" is not pulled: run `bkg models pull nope`' });
  const fake = (name: string, config: object, weights: string) => {
    const dir = join(modelsDir, name);
    mkdirSync(dir);
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    writeFileSync(join(dir, "model.safetensors"), weights);
    copyFileSync(join(modelDir, "tokenizer.json"), join(dir, "tokenizer.json"));
    writeFileSync(join(dir, "model.json"), JSON.stringify({ name, format: "safetensors", files: { weights: "model.safetensors", tokenizer: "tokenizer.json", config: "config.json" } }));
  };
  fake("gpt-ish", { model_type: "gpt2", n_embd: 8 }, "x");
  t.match(await fails(d.client.call("candle.embed", { input: ["x"], model: "gpt-ish" })), { data: { reason: "wrong-architecture" }, message: /is a "gpt2" model .*BERT models only/ });
  const config = JSON.parse(readFileSync(join(modelDir, "config.json"), "utf8"));
  fake("broken-bert", config, "garbage, not weights");
  t.match(await fails(d.client.call("candle.embed", { input: ["x"], model: "broken-bert" })), { data: { reason: "corrupt-weights" }, message: /is not a readable safetensors file/ });
});

t.test("bad input: wrong shapes named, NaN and infinite values refused", async (t) => {
  const ragged = await fails(
    d.client.call("candle.train", {
      kind: "linear",
      inputs: [
        [1, 2, 3],
        [4, 5],
      ],
      targets: [1, 2],
    }),
  );
  t.match(ragged, { code: -32602, data: { reason: "wrong-shape" }, message: "inputs[1] has 2 values, expected 3 (the width of the first row): shape expected [2, 3], got a row of 2" });
  t.match(await fails(d.client.call("candle.train", { kind: "linear", inputs: [[1], [2]], targets: [1, 2, 3] })), { message: "targets has 3 entries, expected 2 (one per row of inputs)" });
  t.match(await fails(d.client.call("candle.model.run", { id: "logit", inputs: [[1, 2, 3]] })), {
    data: { reason: "wrong-shape" },
    message: /inputs\[0\] has 3 values, expected 2 \(the model's input width\)/,
  });
  t.match(await fails(d.client.call("candle.train", { kind: "linear", inputs: [[1], [Number.NaN]], targets: [1, 2] })), {
    data: { reason: "not-finite" },
    message: /inputs\[1\]\[0\] is null: NaN and infinite values are not accepted/,
  });
  t.match(await fails(d.client.call("candle.model.run", { id: "logit", inputs: [[1, Number.POSITIVE_INFINITY]] })), { data: { reason: "not-finite" }, message: /inputs\[0\]\[1\] is null/ });
  t.match(await fails(d.client.call("candle.train", { kind: "linear", inputs: [[1], [1e39]], targets: [1, 2] })), {
    data: { reason: "not-finite" },
    message: /inputs\[1\]\[0\] is 1e39, outside the range of a 32-bit float/,
  });
  t.match(await fails(d.client.call("candle.train", { kind: "linear", inputs: [[1], [2]], targets: [1, "NaN"] })), { data: { reason: "not-finite" } });
  t.match(await fails(d.client.call("candle.train", { kind: "logistic", inputs: [[1], [2]], targets: [0, 0.5] })), {
    data: { reason: "bad-label" },
    message: /targets\[1\] is 0\.5: class labels are whole numbers/,
  });
  t.match(await fails(d.client.call("candle.embed", { input: [] })), { data: { reason: "empty-input" } });
  t.match(await fails(d.client.call("candle.embed", { input: ["ok", 3] })), { message: "input[1] must be a string, got a number" });
  t.match(await fails(d.client.call("candle.model.load", { id: "../x", path: "a" })), { data: { reason: "bad-id" } });
});

t.test("training that diverges is reported, not a crash", async (t) => {
  const pid = (await d.client.plugins.info("candle")).instances[0].pid;
  const inputs = Array.from({ length: 50 }, (_, i) => [i * 10, (i % 7) * 10]);
  const targets = inputs.map(([a, b]) => a * 3 - b);
  const e = await fails(d.client.call("candle.train", { kind: "linear", inputs, targets, epochs: 200, lr: 5 }));
  t.match(e, { code: -33010, data: { reason: "diverged" }, message: /training diverged at epoch \d+: the loss went from .* lower lr \(it was 5\) or scale the inputs/ });
  const stats = await d.client.call<{ training: { runs: number }; embeddings: { sentences: number } }>("candle.stats", {});
  t.ok(stats.training.runs >= 3, "the plugin still answers");
  t.ok(stats.embeddings.sentences > 0);
  t.equal((await d.client.plugins.info("candle")).instances[0].pid, pid, "same process: nothing crashed");
  t.notOk(d.output().includes('"bug":true'), "no bug logged");
});
