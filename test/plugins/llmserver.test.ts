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
import { type BkgError, ErrorCodes } from "@bkg/protocol";
import { startTestDaemon } from "../helpers/daemon.js";
import { llmserverManifest, MODEL } from "../helpers/llm.js";
import { testModelsDir } from "../helpers/models.js";

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
  message: { role: string; content: string; tool_calls?: { id: string; type: string; function: { name: string; arguments: string } }[] };
  finish_reason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}
interface ModelsResult {
  models: { name: string; format: string; loaded: boolean; sequences?: { total: number; busy: number; waiting: number } }[];
}

const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: MODEL, messages: [{ role: "user", content }], temperature: 0, seed: 42, max_tokens: 24, ...extra });
const WEATHER = {
  type: "object",
  properties: { city: { type: "string" }, unit: { enum: ["celsius", "fahrenheit"] } },
  required: ["city", "unit"],
  additionalProperties: false,
};
const TIME = { type: "object", properties: { city: { type: "string", description: "the city's name" } }, required: ["city"], additionalProperties: false };
/** Two tools in OpenAI's shape (function definitions with JSON-schema parameters). */
const TOOLS = [
  { type: "function", function: { name: "get_weather", description: "The current weather in a city", parameters: WEATHER } },
  { type: "function", function: { name: "get_time", description: "The local time in a city", parameters: TIME } },
];
const validateWeather = new Ajv.default().compile(WEATHER);
const validateTime = new Ajv.default().compile(TIME);

/** A prompt the model keeps answering for as long as it may (counting). */
const LONG = { model: MODEL, prompt: "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,", temperature: 0, max_tokens: 1500 };

t.setTimeout(300_000);

t.test("llmserver with SmolLM2 through the daemon", async (t) => {
  const store = await testModelsDir([MODEL]);
  // The real model, plus a corrupt one (a truncated GGUF) in a store of this test's own.
  const dir = mkdtempSync(join(tmpdir(), "bkg-llm-store-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(join(store, MODEL), join(dir, MODEL));
  mkdirSync(join(dir, "broken-gguf"));
  writeFileSync(join(dir, "broken-gguf", "model.gguf"), Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(4096, 7)]));
  writeFileSync(join(dir, "broken-gguf", "model.json"), JSON.stringify({ name: "broken-gguf", format: "gguf", files: { model: "model.gguf" } }));

  const d = await startTestDaemon({ llmserver: llmserverManifest(dir, { parallel: 2, contextSize: 512 }) });
  t.teardown(() => d.stop());
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
    t.ok(chunks.length >= 2, `${chunks.length} chunks`);
    t.equal(chunks[0], "", "the first progress is the start (an empty delta), before any text");
    t.ok(
      chunks.slice(1).every((c) => c !== ""),
      "no other empty chunk",
    );
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
    t.same(
      ends.map((e) => e.code),
      [ErrorCodes.RequestCancelled, ErrorCodes.RequestCancelled],
      "the two long calls end when cancelled",
    );
    await d.waitFor(async () => (await c.call<ModelsResult>("llmserver.models")).models.find((x) => x.name === MODEL)?.sequences?.busy === 0, "both sequences free again");
  });

  t.test("bad input: messages beyond the context answer 400 saying how many tokens over", async (t) => {
    const e = await errorOf(c.call("llmserver.chat", ask("hello ".repeat(700))));
    t.equal(e.code, ErrorCodes.InvalidParams);
    t.match(e.message, /the prompt is \d+ tokens, \d+ over what the model's context of 512 tokens leaves/);
    t.match(e.data, { reason: "context_length_exceeded" });
  });

  t.test("a prompt near the end of the context: max_tokens is cut to the room left", async (t) => {
    // About 440 of the context's 512 tokens: its bound says it could reach the end, so it is counted first.
    const r = await c.call<ChatResult>("llmserver.chat", ask(`Repeat: ${"hello ".repeat(430)}`, { max_tokens: 400 }));
    t.ok(r.usage.prompt_tokens > 400 && r.usage.prompt_tokens < 500, JSON.stringify(r.usage));
    t.ok(r.usage.total_tokens <= 512, `prompt + answer fit the context: ${JSON.stringify(r.usage)}`);
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
  });

  t.test("tools: a forced tool_choice answers an OpenAI tool call whose arguments match the tool's schema", async (t) => {
    const streamed: unknown[] = [];
    const r = await c.call<ChatResult>("llmserver.chat", ask("What is the weather in Paris?", { max_tokens: 60, tools: TOOLS, tool_choice: { type: "function", function: { name: "get_weather" } } }), {
      onProgress: (v) => streamed.push(v),
    });
    t.equal(r.finish_reason, "tool_calls");
    t.equal(r.message.content, null, "no text next to the call");
    t.equal(r.message.tool_calls?.length, 1, JSON.stringify(r.message.tool_calls));
    const call = r.message.tool_calls![0];
    t.match(call, { type: "function", id: /^call_[0-9a-f]{24}$/, function: { name: "get_weather" } });
    const args = JSON.parse(call.function.arguments);
    t.ok(validateWeather(args), `${call.function.arguments} matches get_weather's parameters: ${JSON.stringify(validateWeather.errors)}`);
    t.match(args.city, /Paris/, "the model filled in the city from the question");
    t.ok(r.usage.completion_tokens > 0, `the call's tokens are counted: ${JSON.stringify(r.usage)}`);
    t.same(streamed, [{ delta: "" }, { tool_calls: [{ index: 0, ...call }] }], "the start, then the call streamed once, complete, as the answer has it");
  });

  t.test('tools: tool_choice "required" calls one of the tools, with that tool\'s arguments', async (t) => {
    const r = await c.call<ChatResult>("llmserver.chat", ask("What time is it in Tokyo?", { max_tokens: 60, tools: TOOLS, tool_choice: "required", parallel_tool_calls: false }));
    t.equal(r.finish_reason, "tool_calls");
    t.equal(r.message.tool_calls?.length, 1, "parallel_tool_calls: false gives one call");
    const call = r.message.tool_calls![0];
    const validate = call.function.name === "get_weather" ? validateWeather : call.function.name === "get_time" ? validateTime : undefined;
    t.ok(validate, `the call names a tool: ${call.function.name}`);
    t.ok(validate?.(JSON.parse(call.function.arguments)), `${call.function.arguments} matches ${call.function.name}'s parameters`);
  });

  t.test("tools: a tool's result in the history is what the model answers from", async (t) => {
    const messages = [
      { role: "user", content: "What is the weather in Paris?" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris", "unit": "celsius"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: '{"temperature": 21, "sky": "sunny"}' },
    ];
    const chunks: string[] = [];
    const r = await c.call<ChatResult>(
      "llmserver.chat",
      { model: MODEL, messages, tools: TOOLS, temperature: 0, seed: 42, max_tokens: 40 },
      { onProgress: (v) => chunks.push((v as { delta: string }).delta) },
    );
    t.equal(r.message.tool_calls, undefined, "an answer in text, not another call");
    t.ok(["stop", "length"].includes(r.finish_reason), r.finish_reason);
    t.ok(r.message.content.length > 0 && r.message.content === r.message.content.trimStart(), `text, from its first visible character: ${JSON.stringify(r.message.content)}`);
    t.equal(chunks.join(""), r.message.content, "streamed as it is answered");
    // The result is in the prompt: a longer result makes a longer prompt, by its own tokens.
    const longer = "The sky over the city is clear and sunny all afternoon, with a light breeze from the west.";
    const withLonger = messages.map((m) => (m.role === "tool" ? { ...m, content: JSON.stringify({ temperature: 21, sky: "sunny", note: longer }) } : m));
    const r2 = await c.call<ChatResult>("llmserver.chat", { model: MODEL, messages: withLonger, tools: TOOLS, temperature: 0, seed: 42, max_tokens: 1 });
    const { count } = await c.call<{ count: number }>("llmserver.tokenize", { text: longer });
    t.ok(r2.usage.prompt_tokens - r.usage.prompt_tokens >= count, `prompt ${r.usage.prompt_tokens} -> ${r2.usage.prompt_tokens} tokens with ${count} more tokens of result`);
    const none = await c.call<ChatResult>("llmserver.chat", ask("What is the weather in Paris?", { tools: TOOLS, tool_choice: "none", max_tokens: 12 }));
    t.ok(none.message.tool_calls === undefined && typeof none.message.content === "string" && none.message.content.length > 0, `tool_choice "none" answers text: ${JSON.stringify(none.message)}`);
  });

  t.test("bad input: tools, tool_choice and tool messages that do not fit are refused with what to fix", async (t) => {
    const refused = async (params: Record<string, unknown>, message: RegExp) => {
      const e = await errorOf(c.call("llmserver.chat", { model: MODEL, max_tokens: 4, ...params }));
      t.equal(e.code, ErrorCodes.InvalidParams, e.message);
      t.match(e.message, message);
    };
    const user = [{ role: "user", content: "Hi" }];
    await refused({ messages: user, tool_choice: "required" }, /tool_choice needs tools/);
    await refused(
      { messages: user, tools: TOOLS, tool_choice: { type: "function", function: { name: "launch" } } },
      /tool_choice names function "launch", which is not among the tools \(get_weather, get_time\)/,
    );
    await refused(
      { messages: user, tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: { x: { type: "integer-ish" } } } } }] },
      /tools\[0\]\.function\.parameters \("f"\) is not a valid JSON Schema/,
    );
    await refused({ messages: user, tools: [TOOLS[0], TOOLS[0]] }, /tools\[1\]\.function\.name "get_weather" is used by an earlier tool/);
    await refused({ messages: user, tools: [{ type: "function", function: { name: "has spaces" } }] }, /pattern|must match/);
    await refused({ messages: user, tools: TOOLS, response_format: { type: "json_object" } }, /response_format cannot be combined with tools/);
    const call = { id: "call_9", type: "function", function: { name: "get_time", arguments: '{"city": "Oslo"}' } };
    await refused({ messages: [...user, { role: "assistant", tool_calls: [call] }] }, /messages\[1\]\.tool_calls\[0\] \(id "call_9"\) has no answer/);
    await refused({ messages: [...user, { role: "tool", tool_call_id: "call_7", content: "x" }] }, /answers tool_call_id "call_7", which no earlier assistant message's tool_calls has/);
    await refused({ messages: [...user, { role: "tool", content: "x" }] }, /role "tool" but no tool_call_id/);
    await refused({ messages: [{ role: "user" }] }, /messages\[0\] \(role "user"\) has no content/);
    await refused(
      { messages: [...user, { role: "assistant", tool_calls: [{ ...call, function: { name: "get_time", arguments: "{city: Oslo" } }] }, { role: "tool", tool_call_id: "call_9", content: "12:00" }] },
      /tool_calls\[0\]\.function\.arguments is not JSON/,
    );
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
  const store = await testModelsDir([MODEL]);
  const d = await startTestDaemon({ llmserver: llmserverManifest(store, { keepAliveMs: 300 }) });
  t.teardown(() => d.stop());
  const loaded = async () => (await d.client.call<ModelsResult>("llmserver.models")).models.find((m) => m.name === MODEL)?.loaded;
  const first = await d.client.call<{ count: number }>("llmserver.tokenize", { text: "Hello world" });
  t.ok(first.count > 0);
  await d.waitFor(async () => (await loaded()) === false, "the model unloaded after 300 ms idle", 20_000);
  const again = await d.client.call<{ count: number }>("llmserver.tokenize", { text: "Hello world" });
  // (tokenize needs the loaded model's tokenizer: it answering means the model was loaded again;
  // asking `models` now could race the next 300 ms unload on a slow machine)
  t.equal(again.count, first.count, "loaded again on the next call");
});
