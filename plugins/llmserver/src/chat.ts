/**
 * llmserver.chat: OpenAI-style messages through the model's own chat template (read from the
 * GGUF), one leased sequence, streamed as {delta} chunks through the SDK's progress.
 */
import { BkgError, ErrorCodes, type Context } from "@bkg/plugin-sdk";
import { LlamaChat, type ChatHistoryItem } from "node-llama-cpp";
import type { ModelPool } from "./model-pool.js";
import { finishReason, generationOptions, grammarFor, samplingSchema, type FinishReason, type SamplingParams, type Usage } from "./sampling.js";
import type { Settings } from "./settings.js";

type ContentPart = { type: "text"; text: string } | { type: string; [k: string]: unknown };

export interface ChatMessage {
  role: "system" | "developer" | "user" | "assistant";
  content: string | ContentPart[] | null;
}

export interface ChatParams extends SamplingParams {
  messages: ChatMessage[];
  tools?: unknown[];
}

export interface ChatResult {
  model: string;
  message: { role: "assistant"; content: string };
  finish_reason: FinishReason;
  usage: Usage;
}

export const chatParamsSchema = {
  type: "object",
  required: ["messages"],
  properties: {
    messages: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["role", "content"],
        properties: {
          role: { enum: ["system", "developer", "user", "assistant"] },
          content: { oneOf: [{ type: "string" }, { type: "array", items: { type: "object", required: ["type"] } }, { type: "null" }] },
          name: { type: "string" },
        },
      },
    },
    ...samplingSchema,
    tools: { type: "array" },
    stream: { type: "boolean", description: "Ignored: a caller streams by asking for progress" },
    user: { type: "string" },
  },
} as const;

function text(m: ChatMessage, i: number): string {
  if (m.content === null) return "";
  if (typeof m.content === "string") return m.content;
  return m.content
    .map((part, j) => {
      if (part.type === "text" && typeof part.text === "string") return part.text;
      throw new BkgError(ErrorCodes.InvalidParams, `messages[${i}].content[${j}] is of type "${part.type}"; this model reads text parts only`, { reason: "unsupported_content" });
    })
    .join("");
}

/** OpenAI messages -> node-llama-cpp's chat history, ending with the empty answer to generate. */
export function toHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((m, i) => {
    if (m.role === "system" || m.role === "developer") return { type: "system", text: text(m, i) };
    if (m.role === "user") return { type: "user", text: text(m, i) };
    return { type: "model", response: [text(m, i)] };
  });
  history.push({ type: "model", response: [] });
  return history;
}

export async function chat(pool: ModelPool, settings: Settings, p: ChatParams, ctx: Context): Promise<ChatResult> {
  if (p.tools?.length) {
    throw new BkgError(ErrorCodes.InvalidParams, "tools (function calling) are not supported by llmserver yet; send the request without tools", { reason: "tools_unsupported", param: "tools" });
  }
  const history = toHistory(p.messages);
  const grammar = await grammarFor(p.response_format);
  const name = p.model ?? settings.defaultModel;
  const lease = await pool.lease(name, ctx.signal, ctx.deadline);
  const session = new LlamaChat({ contextSequence: lease.sequence, chatWrapper: lease.chatWrapper, autoDisposeSequence: false });
  try {
    const { contextText } = session.chatWrapper.generateContextState({ chatHistory: history });
    const promptTokens = contextText.tokenize(lease.model.tokenizer).length;
    const gen = generationOptions(p, settings.defaultMaxTokens, grammar, promptTokens, lease.contextSize, ctx);
    const res = await session.generateResponse(history, gen.options);
    return {
      model: name,
      message: { role: "assistant", content: res.response },
      finish_reason: finishReason(res.metadata.stopReason),
      usage: { prompt_tokens: promptTokens, completion_tokens: gen.counted(), total_tokens: promptTokens + gen.counted() },
    };
  } finally {
    session.dispose({ disposeSequence: false });
    lease.release();
  }
}
