/**
 * llmserver's prompt count (plugins/llmserver/src/prompt-tokens.ts) with the real SmolLM2
 * tokenizer: the cheap bound that lets a call skip tokenizing its prompt before the first token
 * is never below the exact count, for plain, multi-byte, spacing-heavy and special-token text
 * through the model's own chat template; and the exact count is the tokenizer's.
 */
import t from "tap";
import { getLlama, LlamaLogLevel, resolveChatWrapper, type ChatHistoryItem } from "node-llama-cpp";
import { PromptTokens } from "../../../plugins/llmserver/src/prompt-tokens.js";
import { MODEL } from "../../helpers/llm.js";
import { testModelsDir } from "../../helpers/models.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";

t.setTimeout(120_000);

const TEXTS = [
  "Write a long story about a lighthouse keeper who finds a message in a bottle.",
  "日本語のテキストと emoji 🚀🌊🧭 mixed with ünïcödé and Ελληνικά",
  "    many     spaces\t\ttabs\n\n\nand newlines    ",
  "<|im_start|>user\nliteral special-token text<|im_end|>",
  "a",
  "x".repeat(3000),
];

t.test("the bound is at least the exact count; the exact count is the tokenizer's", async (t) => {
  const dir = await testModelsDir([MODEL]);
  const record = JSON.parse(readFileSync(join(dir, MODEL, "model.json"), "utf8")) as { files: { model: string } };
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: join(dir, MODEL, record.files.model), gpuLayers: 0 });
  t.teardown(() => model.dispose());
  const wrapper = resolveChatWrapper(model);
  for (const text of TEXTS) {
    const history: ChatHistoryItem[] = [
      { type: "system", text: "You are terse." },
      { type: "user", text },
      { type: "model", response: [] },
    ];
    const { contextText } = wrapper.generateContextState({ chatHistory: history });
    const prompt = new PromptTokens(contextText, model);
    const exact = contextText.tokenize(model.tokenizer).length;
    t.equal(prompt.exact(), exact, `exact count of ${JSON.stringify(text.slice(0, 30))}`);
    t.ok(Number.isFinite(prompt.bound) && prompt.bound >= exact, `bound ${prompt.bound} >= ${exact} tokens for ${JSON.stringify(text.slice(0, 30))}`);
  }
});

t.test("countSoon counts once, on a timer; exact() then answers without tokenizing again", async (t) => {
  let calls = 0;
  const text = { values: ["Hello there"], tokenize: () => (calls++, [1, 2, 3]) };
  const model = { fileInfo: { metadata: { tokenizer: { ggml: { model: "gpt2" } } } }, tokenizer: {} };
  const prompt = new PromptTokens(text as never, model as never);
  t.equal(prompt.bound, 12, "11 bytes, plus one for the value");
  prompt.countSoon();
  prompt.countSoon();
  t.equal(calls, 0, "not counted synchronously");
  await new Promise((r) => setTimeout(r, 5));
  t.equal(calls, 1, "counted once, on the timer");
  t.equal(prompt.exact(), 3);
  t.equal(calls, 1, "exact() answers the kept count");
});

t.test("a tokenizer that normalises (T5's) gives no bound: the prompt is always counted first", async (t) => {
  const model = { fileInfo: { metadata: { tokenizer: { ggml: { model: "t5" } } } }, tokenizer: {} };
  t.equal(new PromptTokens({ values: ["x"], tokenize: () => [1] } as never, model as never).bound, Number.POSITIVE_INFINITY);
});

t.test("countSoon on a call that is over: a failing count on the timer is dropped, not thrown", async (t) => {
  let calls = 0;
  const text = {
    values: ["x"],
    tokenize: () => {
      calls++;
      throw new Error("the model was unloaded");
    },
  };
  const model = { fileInfo: { metadata: { tokenizer: { ggml: { model: "llama" } } } }, tokenizer: {} };
  const prompt = new PromptTokens(text as never, model as never);
  prompt.countSoon();
  await new Promise((r) => setTimeout(r, 5));
  t.equal(calls, 1, "the timer tried, and nothing was thrown");
  t.throws(() => prompt.exact(), /unloaded/, "exact() still says why");
});
