/**
 * The OpenAI-compatible routes under /v1, on the daemon's HTTP port (docs/openai.md):
 *
 *   GET  /v1/models               the models of every plugin implementing the model contract that the key may use
 *   GET  /v1/models/:model        one of them
 *   POST /v1/chat/completions     -> <plugin>.chat      (stream: true -> server-sent events)
 *   POST /v1/completions          -> <plugin>.complete  (stream: true -> server-sent events)
 *   POST /v1/embeddings           -> <plugin>.embed
 *
 * Credentials, rate limits and access logs are the daemon's usual ones (http-server.ts); the key
 * needs role operator and a scope allowing `<plugin>.<method>` for the model
 * (e.g. "llmserver.chat:smollm2-*"). Every error here is in OpenAI's shape (openai-errors.ts).
 */
import type { FastifyInstance } from "fastify";
import { BkgError, ErrorCodes } from "@bkg/protocol";
import { principalOf } from "./request-principal.js";
import { embeddingsHandler } from "./openai-embeddings.js";
import { toOpenAIError } from "./openai-errors.js";
import { generationHandler, visibleTo } from "./openai-generation.js";
import { ModelDirectory, type ServedModel } from "./openai-model-directory.js";
import type { SurfaceDeps } from "./surface-deps.js";

const modelBody = (extra: Record<string, unknown>, required: string[]) => ({
  type: "object",
  required: ["model", ...required],
  properties: { model: { type: "string", minLength: 1 }, stream: { type: "boolean" }, ...extra },
});

function modelObject(s: ServedModel, created: number) {
  const { name, ...rest } = s.model;
  return { id: name, object: "model" as const, created, owned_by: s.plugin, ...rest, methods: s.methods.map((m) => `${s.plugin}.${m}`) };
}

export async function registerOpenAIRoutes(app: FastifyInstance, deps: SurfaceDeps): Promise<void> {
  const directory = new ModelDirectory(deps.ctx);
  const bodyLimit = deps.ctx.config.http.bodyLimit;
  const created = Math.floor(deps.ctx.startedAt / 1000);
  await app.register(
    async (v1) => {
      v1.setErrorHandler((err, req, reply) => {
        const { status, body } = toOpenAIError(err, bodyLimit);
        if (status === 429) {
          const retry = ((err as BkgError).data as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
          if (retry !== undefined) reply.header("retry-after", String(retry));
        }
        if (status >= 500 && status !== 503 && status !== 504 && status !== 502) deps.ctx.logger.error({ reqId: req.id, err: body.error }, `${req.method} ${req.url} failed: ${body.error.message}`);
        return reply.code(status).type("application/json; charset=utf-8").send(body);
      });
      v1.setNotFoundHandler((req, reply) => {
        const e = new BkgError(
          ErrorCodes.MethodNotFound,
          `no route ${req.method} ${req.url.split("?")[0]}; the /v1 routes are GET /v1/models, POST /v1/chat/completions, POST /v1/completions, POST /v1/embeddings`,
        );
        return reply.code(404).send(toOpenAIError(e).body);
      });

      v1.get("/models", { config: { action: "self" }, schema: { tags: ["openai"], summary: "The models this key may use (OpenAI's list shape)" } }, async (req) => {
        const p = principalOf(req);
        const all = (await directory.list()).filter(visibleTo(p));
        return { object: "list", data: all.map((s) => modelObject(s, created)) };
      });
      v1.get<{ Params: { model: string } }>("/models/:model", { config: { action: "self" }, schema: { tags: ["openai"], summary: "One model" } }, async (req) => {
        const p = principalOf(req);
        const all = (await directory.list()).filter(visibleTo(p));
        const s = all.find((m) => m.model.name === req.params.model);
        if (!s) {
          throw new BkgError(ErrorCodes.MethodNotFound, `model "${req.params.model}" does not exist or is not pulled; the models are: ${all.map((m) => m.model.name).join(", ") || "(none)"}`, {
            reason: "model_not_found",
            param: "model",
          });
        }
        return modelObject(s, created);
      });
      v1.post(
        "/chat/completions",
        {
          config: { action: "self" },
          schema: { tags: ["openai"], summary: "Chat completion (OpenAI-compatible); stream: true answers server-sent events", body: modelBody({ messages: { type: "array" } }, ["messages"]) },
        },
        generationHandler(deps, directory, "chat"),
      );
      v1.post(
        "/completions",
        { config: { action: "self" }, schema: { tags: ["openai"], summary: "Text completion (OpenAI-compatible); stream: true answers server-sent events", body: modelBody({}, ["prompt"]) } },
        generationHandler(deps, directory, "complete"),
      );
      v1.post(
        "/embeddings",
        { config: { action: "self" }, schema: { tags: ["openai"], summary: "Embeddings (OpenAI-compatible), from the plugin serving the model", body: modelBody({}, ["input"]) } },
        embeddingsHandler(deps, directory),
      );
    },
    { prefix: "/v1" },
  );
}
