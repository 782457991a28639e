/**
 * OpenAI function calling (`tools`, `tool_choice`, `parallel_tool_calls`) on node-llama-cpp's
 * function calling. The plugin never runs a tool: node-llama-cpp stops generating when the
 * model has called (stop reason "functionCalls"), and the calls go back to the caller as
 * OpenAI `tool_calls`; the caller runs them and sends the results as `tool` messages.
 *
 * tool_choice "auto": the tools are documented in the prompt (by the model's chat wrapper) and
 * the model may call one or answer in text. "required" or a named function: the chat wrapper's
 * context state is changed so generation starts in function-calling mode (node-llama-cpp's
 * `noPrefixTrigger: {type: "functionCall"}`), where grammars constrain the function's name to
 * the allowed ones and its arguments to the function's JSON schema: a call always comes out,
 * and its arguments always parse. "none": the tools are left out and the model answers in text.
 */
import { randomBytes } from "node:crypto";
import { BkgError, ErrorCodes } from "@bkg/plugin-sdk";
import { Ajv } from "ajv";
import {
  LlamaText,
  type ChatModelFunctions,
  type ChatWrapper,
  type ChatWrapperGeneratedContextState,
  type ChatWrapperGeneratedInitiallyEngagedFunctionsContextState,
  type ChatWrapperGeneratedPrefixTriggersContextState,
  type GbnfJsonSchema,
} from "node-llama-cpp";
import type { ToolCall } from "./messages.js";

export interface Tool {
  type: "function";
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export type ToolChoice = "none" | "auto" | "required" | { type: "function"; function: { name: string } };

export interface ToolParams {
  tools?: Tool[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
}

/** OpenAI's rule for function names. */
const NAME = "^[a-zA-Z0-9_-]{1,64}$";

export const toolsSchema = {
  tools: {
    type: "array",
    items: {
      type: "object",
      required: ["type", "function"],
      properties: {
        type: { const: "function" },
        function: {
          type: "object",
          required: ["name"],
          properties: { name: { type: "string", pattern: NAME }, description: { type: "string" }, parameters: { type: "object" }, strict: { type: ["boolean", "null"] } },
        },
      },
    },
  },
  tool_choice: {
    oneOf: [
      { enum: ["none", "auto", "required"] },
      { type: "object", required: ["type", "function"], properties: { type: { const: "function" }, function: { type: "object", required: ["name"], properties: { name: { type: "string" } } } } },
    ],
  },
  parallel_tool_calls: { type: "boolean" },
} as const;

/** What a chat with tools hands node-llama-cpp. */
export interface ToolPlan {
  /** The functions the model may call now: every tool, or the one tool_choice names. */
  callable: ChatModelFunctions;
  /** Every tool, documented in the prompt. */
  documented: ChatModelFunctions;
  /** A call must come out (tool_choice "required" or a named function). */
  forced: boolean;
  /** parallel_tool_calls: false -> at most one call per answer. */
  maxParallelFunctionCalls?: number;
}

const bad = (param: string, message: string) => new BkgError(ErrorCodes.InvalidParams, message, { reason: "invalid_tools", param });

const schemaChecker = new Ajv({ strict: false, validateFormats: false });

/** The functions node-llama-cpp gets for the request's tools, or undefined when none apply. */
export function planTools(p: ToolParams): ToolPlan | undefined {
  const tools = p.tools ?? [];
  if (p.tool_choice !== undefined && tools.length === 0) throw bad("tool_choice", "tool_choice needs tools: send the functions the model may call in `tools`, or leave tool_choice out");
  const choice = p.tool_choice ?? "auto";
  if (tools.length === 0 || choice === "none") return undefined;
  const documented: Record<string, ChatModelFunctions[string]> = {};
  tools.forEach((tool, i) => {
    const { name, description, parameters } = tool.function;
    if (name in documented) throw bad("tools", `tools[${i}].function.name "${name}" is used by an earlier tool too; every tool needs its own name`);
    if (parameters !== undefined) {
      try {
        schemaChecker.compile(parameters);
      } catch (e) {
        throw bad("tools", `tools[${i}].function.parameters ("${name}") is not a valid JSON Schema: ${(e as Error).message}`);
      }
    }
    documented[name] = { ...(description ? { description } : {}), ...(parameters ? { params: parameters as GbnfJsonSchema } : {}) };
  });
  let callable: ChatModelFunctions = documented;
  if (typeof choice === "object") {
    const name = choice.function.name;
    if (!(name in documented)) throw bad("tool_choice", `tool_choice names function "${name}", which is not among the tools (${Object.keys(documented).join(", ")})`);
    callable = { [name]: documented[name] };
  }
  return {
    callable,
    documented,
    forced: choice !== "auto",
    ...(p.parallel_tool_calls === false ? { maxParallelFunctionCalls: 1 } : {}),
  };
}

/**
 * The model's chat wrapper, changed so that generation starts with a function call: the
 * context state it renders (with every tool documented) says "no prefix: enter function
 * calling", and any triggers that would let the model answer in text are dropped.
 */
export function forcingChatWrapper(base: ChatWrapper, documented: ChatModelFunctions): ChatWrapper {
  const forced = Object.create(base) as ChatWrapper;
  forced.generateContextState = (options): ChatWrapperGeneratedContextState => {
    const state = base.generateContextState({ ...options, availableFunctions: documented });
    // Two shapes: wrappers that start "initially engaged" in function calling (Functionary) say
    // so with functionCall; the others (ChatML, Llama 3, ...) use prefix triggers.
    if (state.functionCall || state.ignoreStartText) {
      return { ...(state as ChatWrapperGeneratedInitiallyEngagedFunctionsContextState), functionCall: { initiallyEngaged: true, disengageInitiallyEngaged: [] } };
    }
    const { prefixTriggers: _textTriggers, ...rest } = state as ChatWrapperGeneratedPrefixTriggersContextState;
    return { ...rest, noPrefixTrigger: { type: "functionCall", inject: LlamaText([]) } };
  };
  return forced;
}

/** A node-llama-cpp function call as an OpenAI tool call with a fresh id. */
export function toToolCall(call: { functionName: string; params?: unknown }): ToolCall {
  return { id: `call_${randomBytes(12).toString("hex")}`, type: "function", function: { name: call.functionName, arguments: JSON.stringify(call.params ?? {}) } };
}
