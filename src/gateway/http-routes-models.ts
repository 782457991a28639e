/**
 * The model store over HTTP (docs/models.md): list, show, pull (202 + a pull id; progress as
 * server-sent events or WebSocket `models` messages), delete, verify. Each route runs the same
 * control method as `bkg models ... --json` (models-api.ts).
 */
import { PassThrough } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ModelPullEvent } from "../events/index.js";
import { CONTROL_METHODS } from "./control-api.js";
import { requestActor } from "./http-routes-plugins.js";
import { anyObject, errorResponses, nameParams } from "./http-schemas.js";
import type { SurfaceDeps } from "./surface-deps.js";

type NameReq = { Params: { name: string } };
type PullBody = { Body: { model: string; name?: string; sha256?: string; licence?: string; force?: boolean } };

const KEEPALIVE_MS = 15_000;
const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data ?? null)}\n\n`;
const wantsEvents = (req: FastifyRequest) => /\btext\/event-stream\b/.test(req.headers.accept ?? "");

export function registerModelRoutes(app: FastifyInstance, { ctx }: SurfaceDeps): void {
  const tags = ["models"];
  const run = (method: string, req: FastifyRequest, params: Record<string, unknown>) => CONTROL_METHODS[method](ctx, params, requestActor(req));

  /** Streams a pull's events as SSE until it ends; the last event is `done` or `failed` with the status. */
  const streamPull = (reply: FastifyReply, pullId: string): FastifyReply => {
    const stream = new PassThrough();
    reply.code(200).header("content-type", "text/event-stream; charset=utf-8").header("cache-control", "no-cache").header("x-accel-buffering", "no");
    void reply.send(stream);
    const keepalive = setInterval(() => stream.write(": keep-alive\n\n"), KEEPALIVE_MS);
    const off = ctx.bus.subscribe({ topics: ["model"] }, (e) => {
      const m = e as ModelPullEvent;
      if (m.pullId === pullId && m.phase !== "done" && m.phase !== "failed") stream.write(sse("progress", m));
    });
    const end = () => {
      clearInterval(keepalive);
      off();
    };
    reply.raw.on("close", end);
    void ctx.models!.waitPull(pullId).then((status) => {
      end();
      stream.end(sse(status.state === "done" ? "done" : "failed", status));
    });
    return reply;
  };

  app.get(
    "/api/models",
    {
      config: { action: "bkg.models.list" },
      schema: {
        tags,
        summary: "Pulled models (their model.json records), the catalog marked pulled or not, and running pulls (as bkg models list --json)",
        response: { 200: anyObject, ...errorResponses },
      },
    },
    async (req) => run("bkg.models.list", req, {}),
  );

  app.get<NameReq>(
    "/api/models/:name",
    {
      config: { action: "bkg.models.info" },
      schema: {
        tags,
        summary: "One pulled model's record: files, sha256, size, source, licence, metadata (as bkg models show --json)",
        params: nameParams,
        response: { 200: anyObject, ...errorResponses },
      },
    },
    async (req) => run("bkg.models.info", req, { name: req.params.name }),
  );

  app.post<PullBody>(
    "/api/models/pull",
    {
      config: { action: "bkg.models.pull" },
      schema: {
        tags,
        summary: "Starts a pull: 202 with its pullId; progress as WebSocket `models` messages, or, with Accept: text/event-stream, as server-sent events on this request",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["model"],
          properties: {
            model: { type: "string", minLength: 1, maxLength: 2048, description: "a catalog name, an hf:/pypi: URI, an http(s) URL, or a path on the daemon's machine" },
            name: { type: "string", description: "the name to store it under (default: the catalog name, or from the file name)" },
            sha256: { type: "string", pattern: "^[0-9a-fA-F]{64}$", description: "the expected sha256 of a URL's or path's file" },
            licence: { type: "string" },
            force: { type: "boolean", description: "pull again even when it is there" },
          },
        },
        response: { 200: anyObject, 202: anyObject, ...errorResponses },
      },
    },
    async (req, reply) => {
      const status = (await run("bkg.models.pull", req, { ...req.body })) as { pullId: string };
      if (wantsEvents(req)) return streamPull(reply, status.pullId);
      return reply.code(202).send(status);
    },
  );

  app.get<{ Params: { pullId: string } }>(
    "/api/models/pulls/:pullId",
    {
      config: { action: "bkg.models.list" },
      schema: {
        tags,
        summary: "A pull's status; with Accept: text/event-stream, its progress as server-sent events until it ends",
        params: { type: "object", required: ["pullId"], properties: { pullId: { type: "string", maxLength: 64 } } },
        response: { 200: anyObject, ...errorResponses },
      },
    },
    async (req, reply) => {
      const status = (await run("bkg.models.pullStatus", req, { pullId: req.params.pullId })) as { pullId: string; state: string };
      if (wantsEvents(req) && status.state === "running") return streamPull(reply, status.pullId);
      return status;
    },
  );

  app.delete<NameReq>(
    "/api/models/:name",
    {
      config: { action: "bkg.models.rm" },
      schema: { tags, summary: "Removes a pulled model's folder and its row (as bkg models rm)", params: nameParams, response: { 200: anyObject, ...errorResponses } },
    },
    async (req) => run("bkg.models.rm", req, { name: req.params.name }),
  );

  app.post<NameReq>(
    "/api/models/:name/verify",
    {
      config: { action: "bkg.models.verify" },
      schema: { tags, summary: "Re-hashes a model's files against its model.json (as bkg models verify)", params: nameParams, response: { 200: anyObject, ...errorResponses } },
    },
    async (req) => run("bkg.models.verify", req, { name: req.params.name }),
  );
}
