/**
 * llmserver.chat: OpenAI-style messages through the model's own chat template (read from the
 * GGUF), one leased sequence, streamed as {delta} chunks through the SDK's progress. With
 * `tools`, the model may call (or, per tool_choice, must call) functions: the calls come back as
 * OpenAI `tool_calls` (streamed as {tool_calls} progress) and are never run here (tools.ts).
 */
import { BkgError, ErrorCodes, type Context } from "@bkg/plugin-sdk";
import { LlamaChat, LlamaText, type ChatModelFunctions, type LLamaChatGenerateResponseOptions } from "node-llama-cpp";
import { messagesSchema, toHistory, type ChatMessage, type ToolCall } from "./messages.js";
import type { ModelPool } from "./model-pool.js";
import { PromptTokens } from "./prompt-tokens.js";
import { announceStart, finishReason, generationOptions, grammarFor, samplingSchema, type FinishReason, type SamplingParams, type Usage } from "./sampling.js";
import type { Settings } from "./settings.js";
import { forcingChatWrapper, planTools, toolsSchema, toToolCall, type ToolParams } from "./tools.js";

export type { ChatMessage } from "./messages.js";

export interface ChatParams extends SamplingParams, ToolParams {
  messages: ChatMessage[];
}

export interface ChatResult {
  model: string;
  message: { role: "assistant"; content: string | null; tool_calls?: ToolCall[] };
  finish_reason: FinishReason | "tool_calls";
  usage: Usage;
}

export const chatParamsSchema = {
  type: "object",
  required: ["messages"],
  properties: {
    messages: messagesSchema,
    ...samplingSchema,
    ...toolsSchema,
    stream: { type: "boolean", description: "Ignored: a caller streams by asking for progress" },
    user: { type: "string" },
  },
} as const;

export async function chat(pool: ModelPool, settings: Settings, p: ChatParams, ctx: Context): Promise<ChatResult> {
  const history = toHistory(p.messages);
  const tools = planTools(p);
  if (tools && p.response_format && p.response_format.type !== "text") {
    throw new BkgError(ErrorCodes.InvalidParams, 'response_format cannot be combined with tools here (both constrain the answer with a grammar); send one of them, or tool_choice "none"', {
      reason: "invalid_tools",
      param: "response_format",
    });
  }
  const grammar = await grammarFor(p.response_format);
  const name = p.model ?? settings.defaultModel;
  const lease = await pool.lease(name, ctx.signal, ctx.deadline);
  const chatWrapper = tools?.forced ? forcingChatWrapper(lease.chatWrapper, tools.documented) : lease.chatWrapper;
  const session = new LlamaChat({ contextSequence: lease.sequence, chatWrapper, autoDisposeSequence: false });
  try {
    const { contextText } = chatWrapper.generateContextState({ chatHistory: history, availableFunctions: tools?.documented, documentFunctionParams: true });
    const prompt = new PromptTokens(contextText, lease.model);
    const gen = generationOptions(p, settings.defaultMaxTokens, grammar, prompt, lease.contextSize, ctx);
    // After tool results the model continues its own turn and tends to open with a line break:
    // the answer starts at its first visible character (streamed and returned alike).
    const afterToolResults = history.at(-1)?.type === "model" && (history.at(-1) as { response: unknown[] }).response.length > 0;
    let started = !afterToolResults;
    const onTextChunk = gen.options.onTextChunk;
    gen.options.onTextChunk = (delta: string) => {
      if (!started) delta = delta.trimStart();
      if (delta) started = true;
      onTextChunk(delta);
    };
    // Each call gets its id when it is complete, and is streamed then; the answer lists the same
    // ids. node-llama-cpp reports no tokens for a call (onToken sees text only): a call's tokens
    // are counted from its text.
    const calls: ToolCall[] = [];
    const functionOptions: LLamaChatGenerateResponseOptions<ChatModelFunctions> = tools
      ? {
          functions: tools.callable,
          documentFunctionParams: true,
          ...(tools.maxParallelFunctionCalls ? { maxParallelFunctionCalls: tools.maxParallelFunctionCalls } : {}),
          onFunctionCall: (call) => {
            const made = toToolCall(call);
            ctx.progress({ tool_calls: [{ index: calls.length, ...made }] });
            calls.push(made);
          },
        }
      : {};
    announceStart(ctx);
    const res = await session.generateResponse(history, { ...gen.options, ...functionOptions } as LLamaChatGenerateResponseOptions<ChatModelFunctions>);
    const made = (res.functionCalls ?? []).map((call, i) => calls[i] ?? toToolCall(call));
    const text = afterToolResults ? res.response.trimStart() : res.response;
    const callTokens = (res.functionCalls ?? []).reduce((n, call) => n + LlamaText.fromJSON(call.raw).tokenize(lease.model.tokenizer, "trimLeadingSpace").length, 0);
    const completionTokens = gen.counted() + callTokens;
    const promptTokens = prompt.exact();
    return {
      model: name,
      message: made.length ? { role: "assistant", content: text === "" ? null : text, tool_calls: made } : { role: "assistant", content: text },
      finish_reason: made.length ? "tool_calls" : finishReason(res.metadata.stopReason),
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    };
  } finally {
    session.dispose({ disposeSequence: false });
    lease.release();
  }
}
