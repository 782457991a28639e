/**
 * OpenAI request bodies -> the model contract's params, and the contract's answers -> OpenAI's
 * response objects. The contract (docs/openai.md): `chat` takes {messages, model, temperature,
 * top_p, max_tokens, stop, seed, response_format, tools?} and answers {model, message,
 * finish_reason, usage}; `complete` takes {prompt, ...} and answers {model, text, finish_reason,
 * usage}; both stream {delta} values as progress. `embed` takes {input: string[], model} and
 * answers {data: [{index, embedding}], model, dimensions?, usage: {prompt_tokens}}.
 */
import { randomUUID } from "node:crypto";
import { BkgError, ErrorCodes } from "@bkg/protocol";

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatAnswer {
  model?: string;
  message?: { role?: string; content?: string | null };
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
  const out = { ...samplingParams(body), messages: body.messages };
  if (Array.isArray(body.tools) && body.tools.length) (out as Body).tools = body.tools;
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
  return {
    id,
    object: "chat.completion" as const,
    created,
    model: a.model ?? model,
    choices: [{ index: 0, message: { role: "assistant" as const, content: a.message?.content ?? "", refusal: null }, logprobs: null, finish_reason: a.finish_reason ?? "stop" }],
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

/** The text a streamed {delta} value carries. */
export function deltaOf(value: unknown): string {
  const d = (value as { delta?: unknown } | null)?.delta;
  return typeof d === "string" ? d : "";
}
