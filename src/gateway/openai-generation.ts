/**
 * POST /v1/chat/completions and POST /v1/completions: the request's model picks the plugin
 * (openai-model-directory.ts), the key must be allowed `<plugin>.chat` (or `.complete`) for that
 * model, and the call goes over the bus like any other. `stream: true` answers server-sent
 * events, one chunk per streamed delta, the finish chunk with `usage`, then `data: [DONE]`
 * (with stream_options.include_usage, also OpenAI's separate usage chunk); tool calls stream as
 * `delta.tool_calls`, one complete call per chunk. A client that goes
 * away cancels the call, which stops the generation and frees the plugin's sequence.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { BkgError } from "@bkg/protocol";
import { authorizeCall, scopeAllows, type Principal } from "../auth/index.js";
import { httpCallOptions } from "./http-call-common.js";
import { principalOf } from "./request-principal.js";
import type { ModelDirectory, ModelMethod, ServedModel } from "./openai-model-directory.js";
import { toOpenAIError } from "./openai-errors.js";
import { SseWriter } from "./openai-sse.js";
import {
  chatChunk,
  chatCompletion,
  chatParams,
  completeParams,
  deltaOf,
  newId,
  nowSeconds,
  textChunk,
  textCompletion,
  toolCallsOf,
  usageOf,
  type Body,
  type ChatAnswer,
  type CompleteAnswer,
  type ToolCallOut,
  type Usage,
} from "./openai-translate.js";
import type { SurfaceDeps } from "./surface-deps.js";

/** Can `p`'s scopes use this model with any of its plugin's model methods? (What /v1/models and a 404 show it.) */
export function visibleTo(p: Principal): (s: ServedModel) => boolean {
  return (s) => s.methods.some((m) => p.scopes.some((scope) => scopeAllows(scope, `${s.plugin}.${m}`, s.model.name)));
}

/** Resolves the model to its plugin and checks the key may use it; returns the bus target. */
export async function routeModel(deps: SurfaceDeps, directory: ModelDirectory, p: Principal, model: string, method: ModelMethod): Promise<string> {
  const served = await directory.find(model, method, visibleTo(p));
  const target = `${served.plugin}.${method}`;
  authorizeCall(p, target, deps.auth.plugin, model);
  return target;
}

/** Counts a finished answer's tokens for its key and model (telemetry and /metrics). */
export function recordUsage(deps: SurfaceDeps, p: Principal, model: string, u: Usage): void {
  deps.metrics.llmTokens(p.id, model, u.prompt_tokens, u.completion_tokens);
  deps.ctx.telemetry?.tokens.record(p.id, model, u.prompt_tokens, u.completion_tokens);
}

export function generationHandler(deps: SurfaceDeps, directory: ModelDirectory, kind: "chat" | "complete") {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const p = principalOf(req);
    const body = (req.body ?? {}) as Body;
    const model = body.model as string;
    const params = kind === "chat" ? chatParams(body) : completeParams(body);
    const target = await routeModel(deps, directory, p, model, kind);
    const opts = httpCallOptions(reply.raw, p.id, undefined, req.headers);
    const id = newId(kind === "chat" ? "chatcmpl" : "cmpl");
    const created = nowSeconds();

    if (body.stream !== true) {
      const answer = (await deps.ctx.router.call(target, params, opts)) as ChatAnswer & CompleteAnswer;
      const out = kind === "chat" ? chatCompletion(id, created, model, answer) : textCompletion(id, created, model, answer);
      recordUsage(deps, p, model, out.usage);
      return out;
    }

    const sse = new SseWriter(reply);
    const chunk = (text: string, finish: string | null, usage?: Usage) =>
      kind === "chat" ? chatChunk(id, created, model, text === "" && finish ? {} : { content: text }, finish, usage) : textChunk(id, created, model, text, finish, usage);
    // Opens the stream: chat's first chunk names the role (as OpenAI's does); a completion stream
    // has no such chunk, so a comment line sends its headers.
    const open = () => {
      if (sse.opened) return;
      if (kind === "chat") sse.data(chatChunk(id, created, model, { role: "assistant", content: "" }, null));
      else sse.comment("ready");
    };
    // Tool calls go out whole, one delta each, as the plugin reports them complete; any the
    // answer has that were not streamed (a plugin that does not stream them) go out at the end.
    let toolCallsSent = 0;
    const sendToolCalls = (calls: ToolCallOut[]) => {
      calls.forEach((call, i) => {
        sse.data(chatChunk(id, created, model, { tool_calls: [{ ...call, index: call.index ?? toolCallsSent + i }] }, null));
      });
      toolCallsSent += calls.length;
    };
    opts.onProgress = (value) => {
      // An empty {delta} is the plugin saying generation starts (llmserver sends one): the stream
      // opens now, so the client has the response while the first token is decoded.
      open();
      const calls = kind === "chat" ? toolCallsOf(value) : [];
      if (calls.length) sendToolCalls(calls);
      else {
        const text = deltaOf(value);
        if (text) sse.data(chunk(text, null));
      }
    };
    try {
      const answer = (await deps.ctx.router.call(target, params, opts)) as ChatAnswer & CompleteAnswer;
      const usage = usageOf(answer.usage);
      recordUsage(deps, p, model, usage);
      open();
      if (kind === "chat") sendToolCalls((answer.message?.tool_calls ?? []).slice(toolCallsSent).map((call, i) => ({ ...call, index: toolCallsSent + i })));
      sse.data(chunk("", answer.finish_reason ?? "stop", usage));
      const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
      if (includeUsage) sse.data({ id, object: kind === "chat" ? "chat.completion.chunk" : "text_completion", created, model, choices: [], usage });
      sse.end(true);
    } catch (e) {
      if (!sse.opened) throw e;
      // Mid-stream: headers are gone, so the error is the last event (OpenAI's clients raise it).
      sse.data(toOpenAIError(BkgError.from(e)).body);
      sse.end(false);
    }
    return reply;
  };
}
