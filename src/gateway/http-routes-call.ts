/**
 * POST /api/call/:plugin/:method — the body is the params (an object; none is {}).
 *
 *   200 {"result": <the plugin's result>}
 *   4xx/5xx {"error": {...}} mapped from the JSON-RPC error (http-errors.ts)
 *
 * With `Accept: text/event-stream` the answer is server-sent events: `progress` events (one per
 * streamed value, in order), then one `result` or `error` event, then the stream ends. Headers
 * are sent with the first event, so a call that fails before streaming anything still gets its
 * proper status and JSON body. `?timeoutMs=` sets the call's deadline; a `traceparent` header is
 * passed on. A client that disconnects cancels the call (the plugin gets $/cancelRequest).
 */
import { PassThrough } from "node:stream";
import type { FastifyInstance } from "fastify";
import { BkgError } from "@bkg/protocol";
import { authorizeCall, modelOf, onlyModelScoped, stampAuthCall } from "../auth/index.js";
import { httpCallOptions, nextBatch } from "./http-call-common.js";
import { errorBody } from "./http-errors.js";
import { principalOf } from "./request-principal.js";
import { errorResponses } from "./http-schemas.js";
import type { SurfaceDeps } from "./surface-deps.js";

interface CallReq {
  Params: { plugin: string; method: string };
  Querystring: { timeoutMs?: number };
  Body: unknown;
}

const KEEPALIVE_MS = 15_000;

const sse = (event: string, data: unknown, id?: number) => `event: ${event}\n${id === undefined ? "" : `id: ${id}\n`}data: ${JSON.stringify(data ?? null)}\n\n`;

export function registerCallRoutes(app: FastifyInstance, { ctx, auth }: SurfaceDeps): void {
  app.post<CallReq>(
    "/api/call/:plugin/:method",
    {
      config: { action: "call" },
      schema: {
        tags: ["calls"],
        summary: "Calls plugin.method with the body as params; with Accept: text/event-stream, streams progress as server-sent events, then the result",
        params: { type: "object", required: ["plugin", "method"], properties: { plugin: { type: "string", minLength: 1 }, method: { type: "string", minLength: 1 } } },
        querystring: { type: "object", properties: { timeoutMs: { type: "integer", minimum: 1, description: "The call's deadline, ms (default: the plugin's timeouts.call)" } } },
        response: { 200: { type: "object", properties: { result: {} } }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const target = `${req.params.plugin}.${req.params.method}`;
      if (onlyModelScoped(p.scopes, target)) authorizeCall(p, target, auth.plugin, modelOf(req.body));
      const opts = httpCallOptions(reply.raw, p.id, req.query.timeoutMs, req.headers, req.ownSpan ?? undefined);
      const params = stampAuthCall(p, target, req.body ?? {}, auth.plugin);
      await nextBatch();
      if (!/\btext\/event-stream\b/.test(req.headers.accept ?? "")) {
        return { result: await ctx.router.call(target, params, opts) };
      }

      let stream: PassThrough | undefined;
      let keepalive: NodeJS.Timeout | undefined;
      let seq = 0;
      const open = (): PassThrough => {
        if (stream) return stream;
        stream = new PassThrough();
        keepalive = setInterval(() => stream?.write(": keep-alive\n\n"), KEEPALIVE_MS);
        reply.header("content-type", "text/event-stream; charset=utf-8").header("cache-control", "no-cache").header("x-accel-buffering", "no");
        void reply.send(stream);
        return stream;
      };
      const finish = (chunk: string) => {
        clearInterval(keepalive);
        open().end(chunk);
      };
      opts.onProgress = (value) => void open().write(sse("progress", value, seq++));
      try {
        const result = await ctx.router.call(target, params, opts);
        finish(sse("result", result));
      } catch (e) {
        if (!stream) throw e;
        finish(sse("error", errorBody(BkgError.from(e)).error));
      }
      return reply;
    },
  );
}
