/** llmserver.complete: raw text continuation of a prompt, streamed as {delta} chunks. */
import type { Context } from "@bkg/plugin-sdk";
import { LlamaCompletion } from "node-llama-cpp";
import type { ModelPool } from "./model-pool.js";
import { announceStart, finishReason, generationOptions, grammarFor, samplingSchema, type FinishReason, type SamplingParams, type Usage } from "./sampling.js";
import type { Settings } from "./settings.js";

export interface CompleteParams extends SamplingParams {
  prompt: string;
}

export interface CompleteResult {
  model: string;
  text: string;
  finish_reason: FinishReason;
  usage: Usage;
}

export const completeParamsSchema = {
  type: "object",
  required: ["prompt"],
  properties: { prompt: { type: "string", minLength: 1 }, ...samplingSchema, stream: { type: "boolean" }, user: { type: "string" } },
} as const;

export async function complete(pool: ModelPool, settings: Settings, p: CompleteParams, ctx: Context): Promise<CompleteResult> {
  const grammar = await grammarFor(p.response_format);
  const name = p.model ?? settings.defaultModel;
  const lease = await pool.lease(name, ctx.signal, ctx.deadline);
  const completion = new LlamaCompletion({ contextSequence: lease.sequence, autoDisposeSequence: false });
  try {
    const input = lease.model.tokenize(p.prompt, false);
    const promptTokens = input.length;
    const gen = generationOptions(p, settings.defaultMaxTokens, grammar, { bound: promptTokens, exact: () => promptTokens }, lease.contextSize, ctx);
    announceStart(ctx);
    const res = await completion.generateCompletionWithMeta(input, gen.options);
    return {
      model: name,
      text: res.response,
      finish_reason: finishReason(res.metadata.stopReason),
      usage: { prompt_tokens: promptTokens, completion_tokens: gen.counted(), total_tokens: promptTokens + gen.counted() },
    };
  } finally {
    completion.dispose({ disposeSequence: false });
    lease.release();
  }
}
