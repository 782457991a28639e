/**
 * What chat and complete share: the sampling parameters (OpenAI's names), their JSON Schema,
 * and their translation to node-llama-cpp's options, including response_format -> a grammar.
 */
import { BkgError, ErrorCodes, type Context } from "@bkg/plugin-sdk";
import type { LlamaGrammar } from "node-llama-cpp";
import { llama } from "./model-pool.js";

export interface SamplingParams {
  model?: string;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  stop?: string | string[];
  seed?: number;
  response_format?: { type: "text" } | { type: "json_object" } | { type: "json_schema"; json_schema: { name?: string; schema: Record<string, unknown>; strict?: boolean } };
}

export const samplingSchema = {
  model: { type: "string", minLength: 1, description: "A pulled GGUF model (default: config defaultModel)" },
  temperature: { type: "number", minimum: 0, maximum: 2 },
  top_p: { type: "number", exclusiveMinimum: 0, maximum: 1 },
  max_tokens: { type: "integer", minimum: 1 },
  stop: { oneOf: [{ type: "string" }, { type: "array", items: { type: "string", minLength: 1 }, maxItems: 4 }] },
  seed: { type: "integer" },
  response_format: {
    type: "object",
    required: ["type"],
    properties: {
      type: { enum: ["text", "json_object", "json_schema"] },
      json_schema: { type: "object", required: ["schema"], properties: { name: { type: "string" }, schema: { type: "object" }, strict: { type: "boolean" } } },
    },
  },
} as const;

/** The token usage every answer reports (OpenAI's names). */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type FinishReason = "stop" | "length";

/** node-llama-cpp's stop reasons as OpenAI's finish_reason. */
export function finishReason(stopReason: string): FinishReason {
  return stopReason === "maxTokens" ? "length" : "stop";
}

/** The grammar response_format asks for, if any. A schema llama.cpp's GBNF cannot express is a 400. */
export async function grammarFor(format: SamplingParams["response_format"]): Promise<LlamaGrammar | undefined> {
  if (!format || format.type === "text") return undefined;
  const l = await llama();
  if (format.type === "json_object") return l.getGrammarFor("json");
  if (format.type === "json_schema" && format.json_schema?.schema) {
    try {
      return await l.createGrammarForJsonSchema(format.json_schema.schema as never);
    } catch (e) {
      throw new BkgError(ErrorCodes.InvalidParams, `response_format.json_schema.schema cannot be turned into a grammar: ${(e as Error).message}`, { reason: "schema_unsupported" });
    }
  }
  throw new BkgError(ErrorCodes.InvalidParams, `response_format.type "${(format as { type: string }).type}" needs json_schema.schema`);
}

/** The sampling options common to LlamaChat.generateResponse and LlamaCompletion. */
export function samplingOptions(p: SamplingParams, defaultMaxTokens: number) {
  const stop = p.stop === undefined ? [] : Array.isArray(p.stop) ? p.stop : [p.stop];
  return {
    maxTokens: p.max_tokens ?? defaultMaxTokens,
    temperature: p.temperature ?? 0.7,
    ...(p.top_p === undefined ? {} : { topP: p.top_p }),
    ...(p.seed === undefined ? {} : { seed: p.seed }),
    ...(stop.length ? { customStopTriggers: stop } : {}),
  };
}

/** The 400 for a prompt that does not fit the context (max_tokens is cut to what is left instead). */
export function contextExceeded(promptTokens: number, contextSize: number): BkgError {
  const over = promptTokens + 1 - contextSize;
  return new BkgError(
    ErrorCodes.InvalidParams,
    `the prompt is ${promptTokens} tokens, ${over} over what the model's context of ${contextSize} tokens leaves for an answer; shorten the messages (or raise llmserver's config "contextSize")`,
    { reason: "context_length_exceeded", promptTokens, contextSize, over },
  );
}

/** A prompt's token count: `exact()` when it matters, `bound` (at least the count) to tell when it does not. */
export interface PromptCount {
  bound: number;
  exact(): number;
  /** Counts when the thread is idle again (the answer's usage needs it; generation does not). */
  countSoon?(): void;
}

/**
 * What chat and complete hand node-llama-cpp alike: the sampling options with max_tokens capped
 * to the room left in the context (refused when the prompt fills it), the grammar, the call's
 * signal, one $/progress per text chunk, and a count of generated tokens (`counted()`). The
 * prompt is counted before generating only when its bound says it could come near the end of the
 * context; otherwise after the first text chunk, off the way to the first token.
 */
export function generationOptions(p: SamplingParams, defaultMaxTokens: number, grammar: LlamaGrammar | undefined, prompt: PromptCount, contextSize: number, ctx: Context) {
  const options = samplingOptions(p, defaultMaxTokens);
  if (prompt.bound + options.maxTokens > contextSize) {
    const promptTokens = prompt.exact();
    if (promptTokens >= contextSize) throw contextExceeded(promptTokens, contextSize);
    options.maxTokens = Math.min(options.maxTokens, contextSize - promptTokens);
  }
  let completionTokens = 0;
  return {
    counted: () => completionTokens,
    options: {
      ...options,
      ...(grammar ? { grammar } : {}),
      signal: ctx.signal,
      onToken: (tokens: readonly unknown[]) => void (completionTokens += tokens.length),
      onTextChunk: (delta: string) => {
        if (!delta) return;
        ctx.progress({ delta });
        prompt.countSoon?.();
      },
    },
  };
}

/**
 * Tells a streaming caller the call is accepted (model leased, prompt fits) and generation
 * starts: an empty {delta}. The /v1 routes answer their headers on it, so the response is open
 * at the client while the first token is decoded instead of after it.
 */
export function announceStart(ctx: Context): void {
  ctx.progress({ delta: "" });
}
