/**
 * OpenAI chat messages -> node-llama-cpp's chat history. Besides system/developer, user and
 * assistant text, a conversation that used tools carries assistant messages with `tool_calls`
 * and `tool` messages answering them by `tool_call_id`; node-llama-cpp keeps a call and its
 * result together in one `functionCall` item of the model's response, so each tool message is
 * folded into the call it answers.
 */
import { BkgError, ErrorCodes } from "@bkg/plugin-sdk";
import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelResponse } from "node-llama-cpp";

type ContentPart = { type: "text"; text: string } | { type: string; [k: string]: unknown };

/** A call the model made, in OpenAI's shape (`arguments` is a JSON text). */
export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  content?: string | ContentPart[] | null;
  name?: string;
  /** assistant: the tools it called. */
  tool_calls?: ToolCall[];
  /** tool: the call this message answers. */
  tool_call_id?: string;
}

export const messagesSchema = {
  type: "array",
  minItems: 1,
  items: {
    type: "object",
    required: ["role"],
    properties: {
      role: { enum: ["system", "developer", "user", "assistant", "tool"] },
      content: { oneOf: [{ type: "string" }, { type: "array", items: { type: "object", required: ["type"] } }, { type: "null" }] },
      name: { type: "string" },
      tool_calls: {
        type: "array",
        items: {
          type: "object",
          required: ["id", "function"],
          properties: {
            id: { type: "string", minLength: 1 },
            type: { const: "function" },
            function: { type: "object", required: ["name", "arguments"], properties: { name: { type: "string", minLength: 1 }, arguments: { type: "string" } } },
          },
        },
      },
      tool_call_id: { type: "string", minLength: 1 },
    },
  },
} as const;

const bad = (message: string, reason = "invalid_messages") => new BkgError(ErrorCodes.InvalidParams, message, { reason, param: "messages" });

function text(m: ChatMessage, i: number): string {
  if (m.content === null || m.content === undefined) return "";
  if (typeof m.content === "string") return m.content;
  return m.content
    .map((part, j) => {
      if (part.type === "text" && typeof part.text === "string") return part.text;
      throw new BkgError(ErrorCodes.InvalidParams, `messages[${i}].content[${j}] is of type "${part.type}"; this model reads text parts only`, { reason: "unsupported_content", param: "messages" });
    })
    .join("");
}

/** A tool call's arguments as the value node-llama-cpp renders back into the prompt. */
function argumentsOf(call: ToolCall, i: number, j: number): unknown {
  const raw = call.function.arguments.trim();
  if (raw === "") return undefined;
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw bad(`messages[${i}].tool_calls[${j}].function.arguments is not JSON (${(e as Error).message}); send the arguments the call was made with`);
  }
}

/** A tool's answer: JSON when it is JSON (rendered as such), else the text itself. */
function resultOf(content: string): unknown {
  try {
    return JSON.parse(content);
  } catch {
    return content;
  }
}

/**
 * The history to generate from. It ends with the model's turn to answer: a new empty response,
 * or, when the conversation ends with tool results, the response holding those calls (the model
 * continues it with the results in view, as node-llama-cpp's own function calling does).
 */
export function toHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  const unanswered = new Map<string, { call: ChatModelFunctionCall; where: string }>();
  messages.forEach((m, i) => {
    if (m.role !== "assistant" && (m.content === undefined || m.content === null)) throw bad(`messages[${i}] (role "${m.role}") has no content; only an assistant message may leave it out`);
    if (m.role === "system" || m.role === "developer") history.push({ type: "system", text: text(m, i) });
    else if (m.role === "user") history.push({ type: "user", text: text(m, i) });
    else if (m.role === "assistant") {
      const response: ChatModelResponse["response"] = [];
      const said = text(m, i);
      if (said) response.push(said);
      (m.tool_calls ?? []).forEach((tc, j) => {
        if (unanswered.has(tc.id)) throw bad(`messages[${i}].tool_calls[${j}].id "${tc.id}" is used by an earlier call too; every tool call needs its own id`);
        const call: ChatModelFunctionCall = { type: "functionCall", name: tc.function.name, params: argumentsOf(tc, i, j), result: undefined };
        unanswered.set(tc.id, { call, where: `messages[${i}].tool_calls[${j}]` });
        response.push(call);
      });
      history.push({ type: "model", response });
    } else {
      const id = m.tool_call_id;
      if (id === undefined) throw bad(`messages[${i}] has role "tool" but no tool_call_id; a tool message answers one call of an earlier assistant message by its id`);
      const pending = unanswered.get(id);
      if (!pending) throw bad(`messages[${i}] (role "tool") answers tool_call_id "${id}", which no earlier assistant message's tool_calls has (or another tool message answered already)`);
      pending.call.result = resultOf(text(m, i));
      unanswered.delete(id);
    }
  });
  for (const [id, { where }] of unanswered) {
    throw bad(`${where} (id "${id}") has no answer: add a {"role": "tool", "tool_call_id": "${id}", "content": ...} message with the tool's result after it`, "tool_result_missing");
  }
  const last = history.at(-1);
  const lastPart = last?.type === "model" ? last.response.at(-1) : undefined;
  const continuesAfterToolResults = typeof lastPart === "object" && lastPart.type === "functionCall";
  if (!continuesAfterToolResults) history.push({ type: "model", response: [] });
  return history;
}
