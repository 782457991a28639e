/**
 * The embeddings plugin's config checks and its reading of the model store: every rejected value
 * names the field; a model that is missing, of another format, broken or incomplete gets an
 * error that says what to do.
 */
import t from "tap";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULTS, readConfig } from "../../../plugins/embeddings/src/config.js";
import { listTextEmbedders, resolveModel } from "../../../plugins/embeddings/src/model-store.js";

t.test("config: defaults, overrides, and each bad value named", async (t) => {
  t.same(readConfig({}), DEFAULTS);
  t.same(readConfig({ threads: 2, maxBatch: 1, maxWaitMs: 0, defaultModel: "x" }), { ...DEFAULTS, threads: 2, maxBatch: 1, maxWaitMs: 0, defaultModel: "x" });
  t.throws(() => readConfig({ threads: 0 }), /embeddings config.threads must be an integer from 1 to 64, got 0/);
  t.throws(() => readConfig({ maxBatch: 1.5 }), /config.maxBatch must be an integer from 1 to 1024, got 1.5/);
  t.throws(() => readConfig({ maxWaitMs: "5" }), /config.maxWaitMs must be an integer from 0 to 1000, got "5"/);
  t.throws(() => readConfig({ maxInputs: 1e6 }), /config.maxInputs must be an integer from 1 to 100000/);
  t.throws(() => readConfig({ defaultModel: "" }), /config.defaultModel must be a model name, got ""/);
});

t.test("model store: pulled, missing, other formats, broken records, missing files", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-embed-store-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const put = (name: string, record: unknown, files: string[] = []) => {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, "model.json"), typeof record === "string" ? record : JSON.stringify(record));
    for (const f of files) writeFileSync(join(dir, name, f), "x");
  };
  put("good", { name: "good", format: "onnx", files: { model: "m.onnx", tokenizer: "t.json" }, metadata: { maxTokens: 128, dimensions: 384 } }, ["m.onnx", "t.json"]);
  put("defaults", { name: "defaults", format: "onnx", files: { model: "m.onnx", tokenizer: "t.json" } }, ["m.onnx", "t.json"]);
  put("chat", { name: "chat", format: "gguf", files: { model: "m.gguf" } }, ["m.gguf"]);
  put("half", { name: "half", format: "onnx", files: { model: "m.onnx", tokenizer: "t.json" } }, ["m.onnx"]);
  put("broken", "{ not json");
  process.env.BKG_MODELS_DIR = dir;
  t.teardown(() => delete process.env.BKG_MODELS_DIR);

  t.same(resolveModel("good"), { name: "good", modelPath: join(dir, "good", "m.onnx"), tokenizerPath: join(dir, "good", "t.json"), maxTokens: 128, dimensions: 384 });
  t.equal(resolveModel("defaults").maxTokens, 256, "MiniLM's 256 tokens when model.json does not say");
  t.throws(() => resolveModel("absent"), {
    code: -32602,
    message: 'model "absent" is not pulled: run `bkg models pull absent`',
    data: { reason: "model_not_pulled", available: ["defaults", "good", "half"] },
  });
  t.throws(() => resolveModel("chat"), { code: -32602, message: /model "chat" is a gguf model, not an ONNX text embedder/ });
  t.throws(() => resolveModel("half"), { code: -33010, message: /model "half" is missing .*t\.json: pull it again with `bkg models pull half`/ });
  t.throws(() => resolveModel("broken"), { code: -33010, message: /model "broken": .*model\.json is not valid JSON .*pull it again/ });
  t.same(
    listTextEmbedders().map((m) => m.name),
    ["defaults", "good", "half"],
    "ONNX text embedders only; a broken record is skipped",
  );

  delete process.env.BKG_MODELS_DIR;
  t.throws(() => resolveModel("good"), /BKG_MODELS_DIR is not set/);
});
