/**
 * The OpenAI-compatible /v1 routes, driven by the official `openai` npm client and by plain
 * fetch, against a real daemon running the real LLMServer with SmolLM2 and, for /v1/embeddings'
 * routing, a fixture plugin implementing the embedding side of the model contract. Checks the
 * shapes, the usage numbers, model-scoped keys, the OpenAI error shape, a client leaving
 * mid-stream, and the token accounting per key and model (bkg top, /metrics).
 */
import t from "tap";
import { join } from "node:path";
import Ajv from "ajv";
import OpenAI from "openai";
import { apikeysManifest, ROOT, startTestDaemon } from "../helpers/daemon.js";
import { embeddingsManifest, MINILM } from "../helpers/embeddings-plugin.js";
import { api } from "../helpers/http.js";
import { llmserverManifest, MODEL } from "../helpers/llm.js";
import { testModelsDir } from "../helpers/models.js";
// @ts-expect-error a plain JavaScript fixture
import { trigramVector } from "../fixtures/plugins/trigram.mjs";

t.setTimeout(300_000);

const FIXTURE = join(ROOT, "test", "fixtures", "plugins", "embed-contract.mjs");
const QUESTION = [{ role: "user" as const, content: "What is the capital of France? Answer in one word." }];

t.test("/v1 with the openai client", async (t) => {
  const models = await testModelsDir([MODEL, MINILM]);
  const d = await startTestDaemon(
    {
      apikeys: apikeysManifest(),
      // queueTimeoutMs: a request finding both sequences busy is refused within a second (429 below).
      llmserver: llmserverManifest(models, { parallel: 2, contextSize: 512, queueTimeoutMs: 1000 }),
      embeddings: embeddingsManifest(models),
      embedfix: { name: "embedfix", version: "1.0.0", command: ["node", FIXTURE], provides: ["models", "embed"] },
    },
    { http: { rateLimit: { perCredential: 100000, perIp: 100000 } } },
  );
  t.teardown(() => d.stop());
  await d.waitState("apikeys", "ready");
  const asRoot = api(d.httpUrl!, d.rootToken());
  const newKey = async (name: string, role: string, scopes: string[]) => {
    const r = await asRoot("POST", "/api/keys", { body: { name, role, scopes } });
    if (r.status !== 201) throw new Error(`POST /api/keys: ${r.status} ${r.text}`);
    return r.json as { id: string; key: string };
  };
  const full = await newKey("apps", "operator", ["llmserver.*", "embedfix.*", "embeddings.*"]);
  const client = new OpenAI({ baseURL: `${d.httpUrl}/v1`, apiKey: full.key, maxRetries: 0 });
  const v1 = api(d.httpUrl!, full.key);

  let reference: OpenAI.Chat.Completions.ChatCompletion;
  t.test("chat: the shape, a real answer, consistent usage", async (t) => {
    reference = await client.chat.completions.create({ model: MODEL, messages: QUESTION, temperature: 0, seed: 7, max_tokens: 20 });
    t.match(reference.id, /^chatcmpl-/);
    t.equal(reference.object, "chat.completion");
    t.equal(reference.model, MODEL);
    t.equal(reference.choices.length, 1);
    t.equal(reference.choices[0].message.role, "assistant");
    t.match(reference.choices[0].message.content ?? "", /Paris/);
    t.ok(["stop", "length"].includes(reference.choices[0].finish_reason));
    const u = reference.usage!;
    t.ok(u.prompt_tokens > 5 && u.completion_tokens > 0 && u.completion_tokens <= 20, JSON.stringify(u));
    t.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
  });

  t.test("chat stream: the same text chunk by chunk, usage at the end, then [DONE]", async (t) => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: QUESTION, temperature: 0, seed: 7, max_tokens: 20, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      t.equal(chunk.object, "chat.completion.chunk");
      for (const c of chunk.choices) {
        text += c.delta.content ?? "";
        finish = c.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    t.ok(chunks >= 3, `${chunks} chunks`);
    t.equal(text, reference.choices[0].message.content, "streamed text == non-streamed text");
    t.equal(finish, reference.choices[0].finish_reason);
    t.same(usage, reference.usage, "the same usage numbers");

    const raw = await fetch(`${d.httpUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${full.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: QUESTION, temperature: 0, seed: 7, max_tokens: 4, stream: true }),
    });
    t.match(raw.headers.get("content-type"), /^text\/event-stream/);
    const body = await raw.text();
    t.ok(body.endsWith("data: [DONE]\n\n"), "ends with data: [DONE]");
    const events = body
      .split("\n\n")
      .filter((b) => b.startsWith("data: {"))
      .map((b) => JSON.parse(b.slice(6)));
    // Greedy decoding gives the reference's first tokens, so its length decides how this one ends:
    // cut at 4 tokens, or the reference's own end when it was shorter.
    const cut = reference.usage!.completion_tokens > 4;
    const ending = { finish_reason: cut ? "length" : reference.choices[0].finish_reason, completion_tokens: cut ? 4 : reference.usage!.completion_tokens };
    t.match(events.at(-1), { choices: [{ delta: {}, finish_reason: ending.finish_reason }], usage: { completion_tokens: ending.completion_tokens } }, "the finish chunk carries usage");
  });

  t.test("completions: plain and streamed", async (t) => {
    const r = await client.completions.create({ model: MODEL, prompt: "1, 2, 3, 4,", max_tokens: 6, temperature: 0 });
    t.equal(r.object, "text_completion");
    t.match(r.choices[0].text, /5/);
    t.equal(r.usage?.completion_tokens, 6);
    const s = await client.completions.create({ model: MODEL, prompt: "1, 2, 3, 4,", max_tokens: 6, temperature: 0, stream: true });
    let text = "";
    for await (const c of s) text += c.choices[0]?.text ?? "";
    t.equal(text, r.choices[0].text);
    const raw = await fetch(`${d.httpUrl}/v1/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${full.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, prompt: "1, 2, 3, 4,", max_tokens: 3, temperature: 0, stream: true }),
    });
    const body = await raw.text();
    t.ok(body.startsWith(": ready\n\ndata: {"), `opens with the comment line sent when generation starts: ${JSON.stringify(body.slice(0, 40))}`);
    t.ok(body.endsWith("data: [DONE]\n\n"));
  });

  t.test("tools: the client's tool calls, plain and streamed, and the round trip with the tool's result", async (t) => {
    const parameters = { type: "object", properties: { city: { type: "string" }, unit: { enum: ["celsius", "fahrenheit"] } }, required: ["city", "unit"], additionalProperties: false };
    const validate = new Ajv.default().compile(parameters);
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [{ type: "function", function: { name: "get_weather", description: "The current weather in a city", parameters } }];
    const ask: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: "user", content: "What is the weather in Paris?" }];
    const forced = { type: "function", function: { name: "get_weather" } } as const;
    const r = await client.chat.completions.create({ model: MODEL, messages: ask, tools, tool_choice: forced, temperature: 0, seed: 7, max_tokens: 60 });
    const choice = r.choices[0];
    t.equal(choice.finish_reason, "tool_calls");
    t.equal(choice.message.content, null);
    t.equal(choice.message.tool_calls?.length, 1);
    const call = choice.message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    t.match(call, { type: "function", id: /^call_/, function: { name: "get_weather" } });
    t.ok(validate(JSON.parse(call.function.arguments)), `${call.function.arguments} matches the tool's parameters`);
    t.ok(r.usage!.completion_tokens > 0 && r.usage!.total_tokens === r.usage!.prompt_tokens + r.usage!.completion_tokens, JSON.stringify(r.usage));

    // Streamed: the client's accumulation of delta.tool_calls gives the same call.
    const stream = await client.chat.completions.create({ model: MODEL, messages: ask, tools, tool_choice: forced, temperature: 0, seed: 7, max_tokens: 60, stream: true });
    const got: { id?: string; name?: string; args: string }[] = [];
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        for (const d of c.delta.tool_calls ?? []) {
          const slot = (got[d.index] ??= { args: "" });
          slot.id ??= d.id;
          slot.name ??= d.function?.name;
          slot.args += d.function?.arguments ?? "";
        }
        finish = c.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    t.equal(finish, "tool_calls");
    t.equal(got.length, 1);
    t.match(got[0], { id: /^call_/, name: "get_weather", args: call.function.arguments }, "the same call as without streaming (temperature 0, a seed)");
    t.same(usage, r.usage, "the same usage");

    // The caller runs the tool and sends the result; the model answers in text.
    const followUp = await client.chat.completions.create({
      model: MODEL,
      tools,
      temperature: 0,
      max_tokens: 30,
      messages: [...ask, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: call.id, content: JSON.stringify({ temperature: 21, sky: "sunny" }) }],
    });
    t.ok(followUp.choices[0].message.content && !followUp.choices[0].message.tool_calls, `text after the result: ${JSON.stringify(followUp.choices[0].message)}`);

    const unknown = await v1("POST", "/v1/chat/completions", { body: { model: MODEL, messages: ask, tools, tool_choice: { type: "function", function: { name: "launch" } } } });
    t.match([unknown.status, unknown.json.error], [400, { type: "invalid_request_error", param: "tool_choice", code: "invalid_tools" }]);
    const orphan = await v1("POST", "/v1/chat/completions", { body: { model: MODEL, messages: [...ask, { role: "tool", tool_call_id: "call_x", content: "21" }] } });
    t.match([orphan.status, orphan.json.error], [400, { param: "messages", message: /tool_call_id "call_x"/ }]);
  });

  t.test("models: every model of every plugin implementing the contract", async (t) => {
    const list = await client.models.list();
    const ids = list.data.map((m) => m.id).sort();
    t.same(ids, [MINILM, MODEL, "trigram-8"].sort(), "llmserver's GGUF, the embeddings plugin's ONNX model, the fixture's");
    t.match(
      list.data.find((m) => m.id === MINILM),
      { object: "model", owned_by: "embeddings" },
    );
    t.match(
      list.data.find((m) => m.id === MODEL),
      { object: "model", owned_by: "llmserver" },
    );
    t.equal((await client.models.retrieve(MODEL)).id, MODEL);
  });

  t.test("embeddings: routed to the plugin serving the model, float and base64", async (t) => {
    const input = ["the cat sat", "on the mat"];
    const r = await client.embeddings.create({ model: "trigram-8", input });
    t.equal(r.object, "list");
    t.same(
      r.data.map((e) => e.embedding),
      input.map((s) => trigramVector(s)),
      "the plugin's vectors (the client asked for base64 and decoded it)",
    );
    t.same(r.usage, { prompt_tokens: 21, total_tokens: 21 });
    const f = await v1("POST", "/v1/embeddings", { body: { model: "trigram-8", input: "the cat sat", encoding_format: "float" } });
    t.same(f.json.data, [{ object: "embedding", index: 0, embedding: trigramVector("the cat sat") }]);
    t.equal((await v1("POST", "/v1/embeddings", { body: { model: MODEL, input: "x" } })).status, 404, "a chat model is not an embedding model");
  });

  t.test("embeddings: the real embeddings plugin (all-MiniLM-L6-v2) through the client", async (t) => {
    const input = ["A cat is sitting on the mat.", "A kitten rests on a rug.", "The stock market fell sharply today."];
    const r = await client.embeddings.create({ model: MINILM, input });
    t.equal(r.object, "list");
    t.equal(r.model, MINILM);
    t.same(
      r.data.map((e) => e.index),
      [0, 1, 2],
    );
    const [cat, kitten, stocks] = r.data.map((e) => e.embedding);
    t.equal(cat.length, 384, "384 dimensions");
    const dot = (a: number[], b: number[]) => a.reduce((n, x, i) => n + x * b[i], 0);
    t.ok(Math.abs(dot(cat, cat) - 1) < 1e-3, "unit length");
    t.ok(dot(cat, kitten) > dot(cat, stocks) + 0.2, `related sentences are closer: cat~kitten ${dot(cat, kitten).toFixed(3)}, cat~stocks ${dot(cat, stocks).toFixed(3)}`);
    t.ok(r.usage.prompt_tokens > 10 && r.usage.total_tokens === r.usage.prompt_tokens, JSON.stringify(r.usage));
    // The client asked for base64; the same vectors as floats.
    const f = await v1("POST", "/v1/embeddings", { body: { model: MINILM, input: input[0], encoding_format: "float" } });
    t.ok(
      (f.json.data[0].embedding as number[]).every((x, i) => Math.abs(x - cat[i]) < 1e-6),
      "float and base64 answers agree",
    );
  });

  t.test("bad input: more requests than sequences wait, then 429 in OpenAI's shape with Retry-After", async (t) => {
    const stop = new AbortController();
    const long = [0, 1].map(() =>
      fetch(`${d.httpUrl}/v1/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${full.key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: MODEL, prompt: "1, 2, 3, 4, 5, 6, 7, 8,", max_tokens: 450, temperature: 0, stream: true }),
        signal: stop.signal,
      }).then(
        (r) => r.body?.getReader().read(),
        () => undefined,
      ),
    );
    const busy = async () => (await d.client.call<{ models: { name: string; sequences?: { busy: number } }[] }>("llmserver.models")).models.find((m) => m.name === MODEL)?.sequences?.busy;
    await d.waitFor(async () => (await busy()) === 2, "both sequences busy", 20_000);
    const r = await fetch(`${d.httpUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${full.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: QUESTION, max_tokens: 4 }),
    });
    const body = (await r.json()) as { error: { type: string; code: string; message: string } };
    t.equal(r.status, 429);
    t.match(body.error, { type: "rate_limit_error", code: "sequences_busy", message: /all 2 sequences of model "smollm2-135m-instruct" stayed busy/ });
    t.equal(r.headers.get("retry-after"), "1");
    const thrown = await client.chat.completions.create({ model: MODEL, messages: QUESTION, max_tokens: 4 }).catch((e: unknown) => e);
    t.ok(thrown instanceof OpenAI.RateLimitError, "the client raises its RateLimitError");
    stop.abort();
    await Promise.all(long);
    await d.waitFor(async () => (await busy()) === 0, "the sequences freed", 10_000);
  });

  t.test("bad input: errors in OpenAI's shape with the right status", async (t) => {
    const unknown = await v1("POST", "/v1/chat/completions", { body: { model: "gpt-4o", messages: QUESTION } });
    t.equal(unknown.status, 404);
    t.match(unknown.json, { error: { type: "invalid_request_error", code: "model_not_found", param: "model" } });
    t.match(unknown.json.error.message, new RegExp(`model "gpt-4o" does not exist.*${MODEL}`), "names the models that exist");
    const thrown = await client.chat.completions.create({ model: "gpt-4o", messages: QUESTION }).catch((e: unknown) => e);
    t.ok(thrown instanceof OpenAI.NotFoundError, "the client raises its NotFoundError");

    const long = await v1("POST", "/v1/chat/completions", { body: { model: MODEL, messages: [{ role: "user", content: "word ".repeat(700) }] } });
    t.equal(long.status, 400);
    t.match(long.json.error, { type: "invalid_request_error", code: "context_length_exceeded" });
    t.match(long.json.error.message, /\d+ over what the model's context of 512 tokens leaves/);

    // Streamed, the same: the stream opens only once the plugin has taken the call.
    const longStream = await v1("POST", "/v1/chat/completions", { body: { model: MODEL, messages: [{ role: "user", content: "word ".repeat(700) }], stream: true } });
    t.equal(longStream.status, 400, "a streamed request the plugin refuses still gets its status");
    t.match(longStream.json.error, { code: "context_length_exceeded" });

    const n2 = await v1("POST", "/v1/chat/completions", { body: { model: MODEL, messages: QUESTION, n: 2 } });
    t.match([n2.status, n2.json.error.param], [400, "n"]);
    const noMessages = await v1("POST", "/v1/chat/completions", { body: { model: MODEL } });
    t.match([noMessages.status, noMessages.json.error.type], [400, "invalid_request_error"]);
    const noModel = await v1("POST", "/v1/completions", { body: { prompt: "x" } });
    t.equal(noModel.status, 400);
    const tokens = await v1("POST", "/v1/embeddings", { body: { model: "trigram-8", input: [[1, 2, 3]] } });
    t.match([tokens.status, tokens.json.error.param], [400, "input"]);

    const anon = await api(d.httpUrl!)("GET", "/v1/models");
    t.equal(anon.status, 401);
    t.match(anon.json.error, { type: "authentication_error", code: "invalid_api_key" });
    const refused = await new OpenAI({ baseURL: `${d.httpUrl}/v1`, apiKey: "bkg_live_nope", maxRetries: 0 }).models.list().catch((e: unknown) => e);
    t.ok(refused instanceof OpenAI.AuthenticationError, "the client raises its AuthenticationError");
    const nowhere = await v1("GET", "/v1/nowhere");
    t.match([nowhere.status, nowhere.json.error.type], [404, "invalid_request_error"]);
  });

  t.test("model-scoped keys: llmserver.chat:smollm2-* may chat with SmolLM2 only", async (t) => {
    const scoped = await newKey("smol-only", "operator", ["llmserver.chat:smollm2-*"]);
    const other = await newKey("other-models", "operator", ["llmserver.chat:llama-*"]);
    const viewer = await newKey("watcher", "viewer", ["*"]);
    const as = (k: { key: string }) => api(d.httpUrl!, k.key);
    const chat = { model: MODEL, messages: QUESTION, max_tokens: 3 };
    t.equal((await as(scoped)("POST", "/v1/chat/completions", { body: chat })).status, 200);
    const complete = await as(scoped)("POST", "/v1/completions", { body: { model: MODEL, prompt: "x", max_tokens: 2 } });
    t.match([complete.status, complete.json.error.type], [403, "permission_error"]);
    t.same(
      (await as(scoped)("GET", "/v1/models")).json.data.map((m: { id: string }) => m.id),
      [MODEL],
      "it sees only its models",
    );
    const denied = await as(other)("POST", "/v1/chat/completions", { body: chat });
    t.equal(denied.status, 403);
    t.match(denied.json.error.message, /may not do llmserver\.chat with model "smollm2-135m-instruct"/);
    t.same((await as(other)("GET", "/v1/models")).json.data, []);
    t.equal((await as(viewer)("POST", "/v1/chat/completions", { body: chat })).status, 403, "role viewer cannot call models");
    // The same scope on the generic call route: the body's model decides.
    const viaApi = await as(scoped)("POST", "/api/call/llmserver/chat", { body: chat });
    t.equal(viaApi.status, 200);
    t.equal((await as(scoped)("POST", "/api/call/llmserver/chat", { body: { ...chat, model: "other" } })).status, 403);
    t.equal((await as(scoped)("POST", "/api/call/llmserver/chat", { body: { messages: QUESTION } })).status, 403, "no model named: not allowed");
  });

  t.test("bad input: a client gone mid-stream stops the generation and frees the sequence", async (t) => {
    const cancelled = async () => Number(/bkg_calls_total\{plugin="llmserver",method="complete",outcome="RequestCancelled"\} (\d+)/.exec((await asRoot("GET", "/metrics")).text)?.[1] ?? 0);
    const before = await cancelled();
    const ac = new AbortController();
    const r = await fetch(`${d.httpUrl}/v1/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${full.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, prompt: "1, 2, 3, 4, 5, 6, 7, 8,", max_tokens: 400, temperature: 0, stream: true }),
      signal: ac.signal,
    });
    const reader = r.body!.getReader();
    await reader.read();
    ac.abort();
    const busy = async () => (await d.client.call<{ models: { name: string; sequences?: { busy: number } }[] }>("llmserver.models")).models.find((m) => m.name === MODEL)?.sequences?.busy;
    await d.waitFor(async () => (await busy()) === 0, "the sequence freed", 5_000);
    t.equal(await cancelled(), before + 1, "the call ended as cancelled, not finished");
  });

  t.test("token usage per key and model: bkg top, telemetry, /metrics", async (t) => {
    const live = await d.client.call<{ tokens: { key: string; model: string; requests: number; promptTokens: number; completionTokens: number }[] }>("bkg.telemetry.live");
    const mine = live.tokens.find((r) => r.key === full.id && r.model === MODEL);
    t.ok(mine && mine.requests >= 5 && mine.promptTokens > 0 && mine.completionTokens > 0, JSON.stringify(mine));
    const metrics = (await asRoot("GET", "/metrics")).text;
    const value = (kind: string) => Number(new RegExp(`bkg_llm_tokens_total\\{key="${full.id}",model="${MODEL}",kind="${kind}"\\} (\\d+)`).exec(metrics)?.[1]);
    t.equal(value("prompt"), mine!.promptTokens, "/metrics counts the same prompt tokens");
    t.equal(value("completion"), mine!.completionTokens);
    t.ok(
      live.tokens.some((r) => r.model === "trigram-8" && r.promptTokens === 32),
      "embeddings count their input tokens",
    );
    const top = await d.cli(["top", "--once"], { timeoutMs: 60_000 });
    t.equal(top.code, 0, top.stderr);
    t.match(top.stdout, /TOKENS/);
    t.match(top.stdout, new RegExp(`${full.id}\\s+${MODEL}\\s+${mine!.requests}\\s+${mine!.promptTokens}\\s+${mine!.completionTokens}`));
  });
});
