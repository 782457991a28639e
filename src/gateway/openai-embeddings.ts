/**
 * POST /v1/embeddings: routed to whichever plugin serves the model's `embed` (the model
 * contract). `input` is a string or an array of strings; `encoding_format: "base64"` (what the
 * official clients ask for by default) packs each vector as little-endian float32.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { BkgError, ErrorCodes } from "@bkg/protocol";
import { httpCallOptions } from "./http-call-common.js";
import { principalOf } from "./request-principal.js";
import { recordUsage, routeModel } from "./openai-generation.js";
import type { ModelDirectory } from "./openai-model-directory.js";
import { usageOf, type Body } from "./openai-translate.js";
import type { SurfaceDeps } from "./surface-deps.js";

interface EmbedAnswer {
  model?: string;
  data?: { index?: number; embedding?: number[] }[];
  usage?: { prompt_tokens?: number };
}

const bad = (param: string, message: string) => new BkgError(ErrorCodes.InvalidParams, message, { param, reason: "invalid_value" });

function inputOf(body: Body): string[] {
  const input = body.input;
  if (typeof input === "string") return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((s) => typeof s === "string")) return input as string[];
  if (Array.isArray(input) && input.length > 0) throw bad("input", "input must be text: a string or an array of strings (token arrays are not accepted)");
  throw bad("input", "input must be a non-empty string or array of strings");
}

function base64Of(v: number[]): string {
  const f = new Float32Array(v);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString("base64");
}

export function embeddingsHandler(deps: SurfaceDeps, directory: ModelDirectory) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const p = principalOf(req);
    const body = (req.body ?? {}) as Body;
    const model = body.model as string;
    const input = inputOf(body);
    const format = body.encoding_format ?? "float";
    if (format !== "float" && format !== "base64") throw bad("encoding_format", `encoding_format must be "float" or "base64", got ${JSON.stringify(format)}`);
    const target = await routeModel(deps, directory, p, model, "embed");
    const answer = (await deps.ctx.router.call(target, { input, model }, httpCallOptions(reply.raw, p.id, undefined, req.headers, req.ownSpan ?? undefined))) as EmbedAnswer;
    const data = (answer.data ?? []).map((d, i) => ({ object: "embedding" as const, index: d.index ?? i, embedding: format === "base64" ? base64Of(d.embedding ?? []) : (d.embedding ?? []) }));
    const dims = answer.data?.[0]?.embedding?.length;
    if (body.dimensions !== undefined && body.dimensions !== dims) throw bad("dimensions", `model "${model}" gives ${dims}-dimensional embeddings; leave dimensions out or set it to ${dims}`);
    const usage = usageOf({ prompt_tokens: answer.usage?.prompt_tokens, completion_tokens: 0 });
    recordUsage(deps, p, model, usage);
    return { object: "list" as const, data, model: answer.model ?? model, usage: { prompt_tokens: usage.prompt_tokens, total_tokens: usage.prompt_tokens } };
  };
}
