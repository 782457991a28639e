/**
 * OpenAI request bodies -> the model contract's params, and the contract's answers -> OpenAI's
 * response objects. The contract (docs/openai.md): `chat` takes {messages, model, temperature,
 * top_p, max_tokens, stop, seed, response_format, tools?} and answers {model, message,
 * finish_reason, usage}; `complete` takes {prompt, ...} and answers {model, text, finish_reason,
 * usage}; both stream {delta} values as progress. With `tools`, `chat`'s message may carry
 * `tool_calls` (finish_reason "tool_calls"), streamed as {tool_calls: [{index, id, type, function}]}. `embed` takes {input: string[], model} and
 * answers {data: [{index, embedding}], model, dimensions?, usage: {prompt_tokens}}.
 */
import { randomUUID } from "node:crypto";
import { BkgError, ErrorCodes } from "@bkg/protocol";

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** A tool call in OpenAI's shape (what `chat` answers and streams; `index` only in stream deltas). */
export interface ToolCallOut {
  index?: number;
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface ChatAnswer {
  model?: string;
  message?: { role?: string; content?: string | null; tool_calls?: ToolCallOut[] };
  finish_reason?: string;
  usage?: Partial<Usage>;
}

export interface CompleteAnswer {
  model?: string;
  text?: string;
  finish_reason?: string;
  usage?: Partial<Usage>;
}

export type Body = Record<string, unknown>;

const badParam = (param: string, message: string) => new BkgError(ErrorCodes.InvalidParams, message, { param, reason: "invalid_value" });

/** The sampling fields both generation routes pass on, after OpenAI's own checks. */
function samplingParams(body: Body): Body {
  const n = body.n;
  if (n !== undefined && n !== 1) throw badParam("n", `n must be 1 (one answer per request), got ${JSON.stringify(n)}`);
  // max_completion_tokens is the newer name of max_tokens.
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const out: Body = { model: body.model };
  for (const k of ["temperature", "top_p", "stop", "seed", "response_format"] as const) if (body[k] !== undefined && body[k] !== null) out[k] = body[k];
  if (maxTokens !== undefined && maxTokens !== null) out.max_tokens = maxTokens;
  return out;
}

export function chatParams(body: Body): Body {
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw badParam("messages", "messages must be a non-empty array of {role, content}");
  const out: Body = { ...samplingParams(body), messages: body.messages };
  // Function calling: passed on as they are; the plugin checks them (docs/openai.md, "Tools").
  for (const k of ["tools", "tool_choice", "parallel_tool_calls"] as const) if (body[k] !== undefined && body[k] !== null) out[k] = body[k];
  return out;
}

export function completeParams(body: Body): Body {
  const prompt = Array.isArray(body.prompt) && body.prompt.length === 1 ? body.prompt[0] : body.prompt;
  if (typeof prompt !== "string" || prompt === "") throw badParam("prompt", "prompt must be a non-empty string (one prompt per request)");
  return { ...samplingParams(body), prompt };
}

export function usageOf(u: Partial<Usage> | undefined): Usage {
  const prompt = Number(u?.prompt_tokens) || 0;
  const completion = Number(u?.completion_tokens) || 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export const newId = (prefix: string) => `${prefix}-${randomUUID().replaceAll("-", "")}`;
export const nowSeconds = () => Math.floor(Date.now() / 1000);

export function chatCompletion(id: string, created: number, model: string, a: ChatAnswer) {
  const calls = a.message?.tool_calls?.length ? a.message.tool_calls.map(({ index: _streamIndex, ...call }) => call) : undefined;
  // With tool calls and no text, content is null (OpenAI's shape); otherwise always a string.
  const content = a.message?.content ?? (calls ? null : "");
  return {
    id,
    object: "chat.completion" as const,
    created,
    model: a.model ?? model,
    choices: [{ index: 0, message: { role: "assistant" as const, content, refusal: null, ...(calls ? { tool_calls: calls } : {}) }, logprobs: null, finish_reason: a.finish_reason ?? "stop" }],
    usage: usageOf(a.usage),
  };
}

export function chatChunk(id: string, created: number, model: string, delta: Record<string, unknown>, finish: string | null, usage?: Usage) {
  return { id, object: "chat.completion.chunk" as const, created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(usage ? { usage } : {}) };
}

export function textCompletion(id: string, created: number, model: string, a: CompleteAnswer) {
  return {
    id,
    object: "text_completion" as const,
    created,
    model: a.model ?? model,
    choices: [{ index: 0, text: a.text ?? "", logprobs: null, finish_reason: a.finish_reason ?? "stop" }],
    usage: usageOf(a.usage),
  };
}

export function textChunk(id: string, created: number, model: string, text: string, finish: string | null, usage?: Usage) {
  return { id, object: "text_completion" as const, created, model, choices: [{ index: 0, text, logprobs: null, finish_reason: finish }], ...(usage ? { usage } : {}) };
}

/** The tool calls a streamed {tool_calls} value carries (each with its index in the answer). */
export function toolCallsOf(value: unknown): ToolCallOut[] {
  const calls = (value as { tool_calls?: unknown } | null)?.tool_calls;
  return Array.isArray(calls) ? (calls as ToolCallOut[]) : [];
}

/** The text a streamed {delta} value carries. */
export function deltaOf(value: unknown): string {
  const d = (value as { delta?: unknown } | null)?.delta;
  return typeof d === "string" ? d : "";
}
