/**
 * LLMServer with the real SmolLM2-135M-Instruct GGUF, spawned by a real daemon and called over
 * its socket: answers, streaming, cancellation, JSON-schema output, parallel sequences, the queue,
 * and each bad input of the issue. One model load for the whole file (threads 1, short answers).
 */
import t from "tap";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv from "ajv";
import { BkgError, ErrorCodes } from "@bkg/protocol";
import { startTestDaemon } from "../helpers/daemon.js";
import { linkModels, llmModelsDir, llmserverManifest, MODEL } from "../helpers/llm.js";

const errorOf = async (p: Promise<unknown>): Promise<BkgError> => {
  try {
    await p;
  } catch (e) {
    return e as BkgError;
  }
  throw new Error("the call succeeded, but it should have failed");
};

interface ChatResult {
  model: string;
  message: { role: string; content: string };
  finish_reason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}
interface ModelsResult {
  models: { name: string; format: string; loaded: boolean; sequences?: { total: number; busy: number; waiting: number } }[];
}

const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: MODEL, messages: [{ role: "user", content }], temperature: 0, seed: 42, max_tokens: 24, ...extra });
/** A prompt the model keeps answering for as long as it may (counting). */
const LONG = { model: MODEL, prompt: "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,", temperature: 0, max_tokens: 1500 };

t.setTimeout(300_000);

t.test("llmserver with SmolLM2 through the daemon", async (t) => {
  const store = await llmModelsDir();
  // The real model, plus a corrupt one (a truncated GGUF) in a store of this test's own.
  const dir = mkdtempSync(join(tmpdir(), "bkg-llm-store-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(join(store, MODEL), join(dir, MODEL));
  mkdirSync(join(dir, "broken-gguf"));
  writeFileSync(join(dir, "broken-gguf", "model.gguf"), Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(4096, 7)]));
  writeFileSync(join(dir, "broken-gguf", "model.json"), JSON.stringify({ name: "broken-gguf", format: "gguf", files: { model: "model.gguf" } }));

  const d = await startTestDaemon({ llmserver: llmserverManifest(dir, { parallel: 2, contextSize: 512 }) });
  t.teardown(() => d.stop());
  linkModels(d, dir);
  const c = d.client;

  t.test("lazy: the plugin starts on the first call, not with the daemon", async (t) => {
    const list = await c.call<{ name: string; state: string }[]>("bkg.plugins.list");
    t.equal(list.find((p) => p.name === "llmserver")?.state, "idle");
  });

  let reference: ChatResult;
  t.test("a chat answer is non-empty text from the model, with its usage", async (t) => {
    reference = await c.call<ChatResult>("llmserver.chat", ask("What is the capital of France? Answer in one word."));
    t.equal(reference.model, MODEL);
    t.equal(reference.message.role, "assistant");
    t.match(reference.message.content, /Paris/, `the model's answer: ${JSON.stringify(reference.message.content)}`);
    t.ok(reference.usage.prompt_tokens > 5 && reference.usage.completion_tokens > 0, JSON.stringify(reference.usage));
    t.equal(reference.usage.total_tokens, reference.usage.prompt_tokens + reference.usage.completion_tokens);
    t.ok(["stop", "length"].includes(reference.finish_reason));
  });

  t.test("streaming delivers the same text as not streaming (temperature 0, a seed)", async (t) => {
    const chunks: string[] = [];
    const r = await c.call<ChatResult>("llmserver.chat", ask("What is the capital of France? Answer in one word."), { onProgress: (v) => chunks.push((v as { delta: string }).delta) });
    t.ok(chunks.length >= 1, `${chunks.length} chunks`);
    t.equal(chunks.join(""), reference.message.content, "the streamed chunks join to the answer");
    t.equal(r.message.content, reference.message.content, "the same answer as without streaming");
    t.same(r.usage, reference.usage);
  });

  t.test("complete continues a prompt; tokenize counts tokens", async (t) => {
    const r = await c.call<{ text: string; usage: { completion_tokens: number } }>("llmserver.complete", { ...LONG, max_tokens: 8 });
    t.match(r.text, /13/, `continues the count: ${JSON.stringify(r.text)}`);
    t.equal(r.usage.completion_tokens, 8);
    const tok = await c.call<{ tokens: number[]; count: number }>("llmserver.tokenize", { text: "Hello world" });
    t.ok(tok.count >= 2 && tok.tokens.length === tok.count && tok.tokens.every(Number.isInteger), JSON.stringify(tok));
  });

  t.test("JSON-schema output parses and matches its schema", async (t) => {
    const schema = {
      type: "object",
      properties: { city: { type: "string" }, country: { type: "string" }, population_millions: { type: "number" } },
      required: ["city", "country", "population_millions"],
      additionalProperties: false,
    };
    const r = await c.call<ChatResult>("llmserver.chat", ask("Describe Paris as JSON.", { max_tokens: 80, response_format: { type: "json_schema", json_schema: { name: "city", schema } } }));
    const value = JSON.parse(r.message.content);
    const validate = new Ajv.default().compile(schema);
    t.ok(validate(value), `${r.message.content} matches: ${JSON.stringify(validate.errors)}`);
  });

  t.test("cancellation stops the generation at once and frees the sequence", async (t) => {
    const ac = new AbortController();
    let chunks = 0;
    let lateChunks = 0;
    let abortedAt = 0;
    const call = c.call("llmserver.complete", LONG, {
      signal: ac.signal,
      onProgress: () => {
        chunks++;
        if (abortedAt && performance.now() - abortedAt > 100) lateChunks++;
        if (chunks === 5) {
          abortedAt = performance.now();
          ac.abort();
        }
      },
    });
    const e = await errorOf(call);
    t.equal(e.code, ErrorCodes.RequestCancelled);
    // The plugin stops between two tokens: nothing arrives later than 100 ms after the cancel,
    // and the sequence is free again (no call holds it) right after.
    await new Promise((r) => setTimeout(r, 300));
    t.equal(lateChunks, 0, "no chunk arrived more than 100 ms after the cancel");
    const m = await c.call<ModelsResult>("llmserver.models");
    t.same(m.models.find((x) => x.name === MODEL)?.sequences, { total: 2, busy: 0, waiting: 0 }, "both sequences are free");
  });

  t.test("two concurrent chats both finish, each on its own sequence", async (t) => {
    const [a, b] = await Promise.all([
      c.call<ChatResult>("llmserver.chat", ask("Name a colour.", { max_tokens: 12 })),
      c.call<ChatResult>("llmserver.chat", ask("Name an animal.", { max_tokens: 12 })),
    ]);
    t.ok(a.message.content.length > 0 && b.message.content.length > 0, `${JSON.stringify(a.message.content)} / ${JSON.stringify(b.message.content)}`);
  });

  t.test("bad input: more calls than sequences wait, then get -33002 before their deadline", async (t) => {
    const stopLong = new AbortController();
    const long = [c.call("llmserver.complete", LONG, { signal: stopLong.signal }), c.call("llmserver.complete", LONG, { signal: stopLong.signal })];
    await d.waitFor(async () => (await c.call<ModelsResult>("llmserver.models")).models.find((x) => x.name === MODEL)?.sequences?.busy === 2, "both sequences busy");
    const e = await errorOf(c.call("llmserver.chat", ask("Hi"), { timeoutMs: 1500 }));
    t.equal(e.code, ErrorCodes.Overloaded, e.message);
    t.match(e.message, /all 2 sequences of model "smollm2-135m-instruct" stayed busy/);
    const ac = new AbortController();
    const waiting = c.call("llmserver.chat", ask("Hi"), { signal: ac.signal });
    await d.waitFor(async () => (await c.call<ModelsResult>("llmserver.models")).models.find((x) => x.name === MODEL)?.sequences?.waiting === 1, "one call waiting");
    ac.abort();
    t.equal((await errorOf(waiting)).code, ErrorCodes.RequestCancelled, "a waiting call can be cancelled");
    stopLong.abort();
    const ends = await Promise.all(long.map(errorOf));
    t.same(ends.map((e) => e.code), [ErrorCodes.RequestCancelled, ErrorCodes.RequestCancelled], "the two long calls end when cancelled");
    await d.waitFor(async () => (await c.call<ModelsResult>("llmserver.models")).models.find((x) => x.name === MODEL)?.sequences?.busy === 0, "both sequences free again");
  });

  t.test("bad input: messages beyond the context answer 400 saying how many tokens over", async (t) => {
    const e = await errorOf(c.call("llmserver.chat", ask("hello ".repeat(700))));
    t.equal(e.code, ErrorCodes.InvalidParams);
    t.match(e.message, /the prompt is \d+ tokens, \d+ over what the model's context of 512 tokens leaves/);
    t.match(e.data, { reason: "context_length_exceeded" });
  });

  t.test("bad input: an unknown model names the pull to run", async (t) => {
    const e = await errorOf(c.call("llmserver.chat", ask("Hi", { model: "no-such-model" })));
    t.equal(e.code, ErrorCodes.MethodNotFound);
    t.match(e.message, 'model "no-such-model" is not pulled: run `bkg models pull no-such-model`');
  });

  t.test("bad input: a corrupt GGUF fails to load naming its file; the plugin keeps serving", async (t) => {
    const e = await errorOf(c.call("llmserver.chat", ask("Hi", { model: "broken-gguf" })));
    t.equal(e.code, ErrorCodes.PluginError);
    t.match(e.message, /cannot load model "broken-gguf" from .*broken-gguf\/model\.gguf/);
    const r = await c.call<ChatResult>("llmserver.chat", ask("Say hi.", { max_tokens: 6 }));
    t.ok(r.message.content.length > 0, "the good model still answers");
  });

  t.test("bad input: invalid params are refused by the schema", async (t) => {
    t.equal((await errorOf(c.call("llmserver.chat", { messages: [] }))).code, ErrorCodes.InvalidParams);
    t.equal((await errorOf(c.call("llmserver.chat", ask("Hi", { temperature: -1 })))).code, ErrorCodes.InvalidParams);
    const tools = await errorOf(c.call("llmserver.chat", ask("Hi", { tools: [{ type: "function", function: { name: "f" } }] })));
    t.match(tools.message, /tools \(function calling\) are not supported/);
  });
});

t.test("llmserver with no model pulled answers which pull to run", async (t) => {
  const empty = mkdtempSync(join(tmpdir(), "bkg-llm-empty-"));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  const d = await startTestDaemon({ llmserver: llmserverManifest(empty) });
  t.teardown(() => d.stop());
  const e = await errorOf(d.client.call("llmserver.chat", { messages: [{ role: "user", content: "Hi" }] }));
  t.match(e.message, 'model "smollm2-135m-instruct" is not pulled: run `bkg models pull smollm2-135m-instruct`');
  t.same(await d.client.call("llmserver.models"), { models: [] });
});

t.test("llmserver unloads a model after keepAliveMs without calls, and loads it again on the next", async (t) => {
  const store = await llmModelsDir();
  const d = await startTestDaemon({ llmserver: llmserverManifest(store, { keepAliveMs: 300 }) });
  t.teardown(() => d.stop());
  linkModels(d, store);
  const loaded = async () => (await d.client.call<ModelsResult>("llmserver.models")).models.find((m) => m.name === MODEL)?.loaded;
  const first = await d.client.call<{ count: number }>("llmserver.tokenize", { text: "Hello world" });
  t.ok(first.count > 0);
  await d.waitFor(async () => (await loaded()) === false, "the model unloaded after 300 ms idle", 20_000);
  const again = await d.client.call<{ count: number }>("llmserver.tokenize", { text: "Hello world" });
  // (tokenize needs the loaded model's tokenizer: it answering means the model was loaded again;
  // asking `models` now could race the next 300 ms unload on a slow machine)
  t.equal(again.count, first.count, "loaded again on the next call");
});
