/**
 * The hot path of POST /api/call/:plugin/:method, served straight from node:http.
 *
 * fastify's request machinery (routing, hook runner, content-type parser, reply, serializer)
 * profiled at a fifth of the daemon's CPU per call. The plain case of the call route - the one
 * every client sends in a loop - is served here instead, with the same steps and the same helpers
 * as the fastify route and hooks (http-server.ts, http-routes-call.ts):
 *
 *   request id -> credential (cached: no await) -> rate limit (X-RateLimit-*, 429) -> the auth
 *   error (401/503) -> role and scope (403) -> body (parseJsonBody: 400) -> router -> 200
 *   {"result"} or the error status and {"error"}; then HTTP metrics and the access log line.
 *
 * Anything else goes to fastify, decided from the request line and headers before a byte of the
 * body is read: another route or method, a query other than ?timeoutMs=<positive integer>,
 * escapes or odd characters in the path, an Origin header (CORS), Accept: text/event-stream
 * (SSE), a body that is not Content-Length-framed JSON within http.bodyLimit (413, 415, empty
 * JSON), or a server that is closing (503). So every refusal fastify words is still fastify's.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { BkgError, ErrorCodes, RawJson } from "@bkg/protocol";
import { authorizeCall, credentialFromHeaders, modelOf, onlyModelScoped, stampAuthCall, type Principal } from "../auth/index.js";
import { toHttpError, type HttpError } from "./http-errors.js";
import type { OwnSpan } from "../tracing/index.js";
import type { RouteOptions } from "../bus/index.js";
import type { RateKey } from "./rate-limiter.js";
import { httpCallOptions, nextBatch, parseJsonBody, passThroughBody, traceOfRequest, traceparentOf } from "./http-call-common.js";
import type { SurfaceDeps } from "./surface-deps.js";

/** /api/call/<plugin>/<method>, with an optional ?timeoutMs=<1..999999999>. Names as the registry allows them, plus dots in methods. */
const CALL_URL = /^\/api\/call\/([A-Za-z0-9_-]+)\/([A-Za-z0-9_.-]+)(?:\?timeoutMs=([1-9][0-9]{0,8}))?$/;
const ROUTE = "/api/call/:plugin/:method";
const JSON_UTF8 = "application/json; charset=utf-8";
const JSON_TYPE = /^application\/json\s*(?:;\s*charset=utf-8\s*)?$/i;

export interface FastCallHelpers {
  genReqId(req: IncomingMessage): string;
  /** Counts the request against `key`, sets the X-RateLimit-* (and on a 429, Retry-After) headers; the 429 error when over. */
  rateLimit(key: RateKey, res: ServerResponse): HttpError | undefined;
  /** The server is closing: fastify answers 503. */
  closing(): boolean;
  /** An error answer was 5xx (other than 502/503/504): log it as fastify's error handler does. */
  logFailure(reqId: string, method: string, path: string, body: ReturnType<typeof toHttpError>["body"]): void;
  /** The access log line and HTTP metrics, as fastify's onResponse hook writes them. */
  responded(reqId: string, cred: string | null, method: string, path: string, route: string, status: number, elapsedMs: number, ip: string): void;
}

/** Returns the handler: true when it took the request, false when fastify should have it. */
export function fastCallHandler({ ctx, auth }: SurfaceDeps, h: FastCallHelpers): (req: IncomingMessage, res: ServerResponse) => boolean {
  const bodyLimit = ctx.config.http.bodyLimit;
  const maxDepth = ctx.config.limits.jsonDepth;
  const authPrefix = `${auth.plugin}.auth.`;
  return (req, res) => {
    if (req.method !== "POST") return false;
    const url = req.url;
    if (url === undefined || !url.startsWith("/api/call/")) return false;
    const m = CALL_URL.exec(url);
    if (!m) return false;
    const headers = req.headers;
    if (headers.origin !== undefined || h.closing()) return false;
    const accept = headers.accept;
    if (accept?.includes("text/event-stream")) return false;
    const type = headers["content-type"];
    const lengthHeader = headers["content-length"];
    const length = lengthHeader === undefined ? 0 : Number(lengthHeader);
    if (headers["transfer-encoding"] !== undefined || !Number.isSafeInteger(length) || length > bodyLimit) return false;
    if (type === undefined ? length !== 0 : length === 0 || !JSON_TYPE.test(type)) return false;

    void serve(req, res, m[1], m[2], m[3] === undefined ? undefined : Number(m[3]), length > 0);
    return true;
  };

  async function serve(req: IncomingMessage, res: ServerResponse, plugin: string, method: string, timeoutMs: number | undefined, hasBody: boolean): Promise<void> {
    const t0 = performance.now();
    const reqId = h.genReqId(req);
    const ip = req.socket.remoteAddress ?? "";
    const path = timeoutMs === undefined ? req.url! : req.url!.slice(0, req.url!.indexOf("?"));
    let principal: Principal | undefined;
    let ownSpan: OwnSpan | undefined;
    let status = 200;
    let out: string;
    let opts: RouteOptions | undefined;
    try {
      // onRequest: the credential (its failure is answered after the rate limit, as in fastify's hooks).
      const credential = credentialFromHeaders(req.headers);
      let authError: BkgError | undefined;
      try {
        const key = auth.cacheKeyFor(req.socket, credential);
        principal = auth.cached(credential, key);
        if (principal === undefined) {
          // Only the auth plugin can tell: its call joins this request's trace.
          const trace = traceOfRequest(ctx.tracer, traceparentOf(req.headers));
          ownSpan = trace.ownSpan;
          principal = await auth.authenticate(credential, key, trace.traceparent);
        }
      } catch (e) {
        authError = BkgError.from(e);
      }
      const limited = h.rateLimit(principal ? `cred:${principal.id}` : `ip:${ip}`, res);
      if (limited) throw limited;
      // preParsing: 401/503, then role and scope.
      if (authError) throw authError;
      const target = `${plugin}.${method}`;
      // A key whose only matching scopes name models is checked against the body's model.
      const modelScoped = onlyModelScoped(principal!.scopes, target);
      if (!modelScoped) authorizeCall(principal!, target, auth.plugin);
      // The call goes with the requests of this poll phase (see nextBatch); by then a body that
      // came with its headers is in the request's buffer, taken without a stream's events. A
      // body nothing here looks into passes through as text (RawJson): not a model-scoped key's
      // (its model is read), not a call to the auth plugin (its params are stamped).
      await nextBatch();
      const text = hasBody ? (bufferedBody(req) ?? (await readBody(req))) : undefined;
      const raw = text === undefined || modelScoped || target.startsWith(authPrefix) ? undefined : passThroughBody(text, maxDepth);
      const body = raw ?? (text === undefined ? {} : parseBody(text));
      if (modelScoped) authorizeCall(principal!, target, auth.plugin, modelOf(body));
      const params = raw ?? stampAuthCall(principal!, target, body, auth.plugin);
      opts = httpCallOptions(res, principal!.id, timeoutMs, req.headers, ownSpan, false);
      const result = await ctx.router.call(target, params, opts);
      out = result instanceof RawJson ? `{"result":${result.text}}` : JSON.stringify({ result });
    } catch (e) {
      const { status: s, body } = toHttpError(e, bodyLimit);
      status = s;
      if (res.destroyed)
        status = 499; // the client went away (mid-body or mid-call): nothing to answer, nothing failed
      else if (status >= 500 && status !== 503 && status !== 504 && status !== 502) h.logFailure(reqId, "POST", path, body);
      out = JSON.stringify(body);
    }
    if (res.destroyed) return void h.responded(reqId, principal?.id ?? null, "POST", path, ROUTE, status, performance.now() - t0, ip);
    // One header object, no setHeader per header (each validates and stores on its own).
    const tracedAs = opts?.tracedAs;
    const headers: OutgoingHttpHeaders =
      tracedAs === undefined
        ? { "x-request-id": reqId, "content-type": JSON_UTF8, "content-length": Buffer.byteLength(out) }
        : { "x-request-id": reqId, traceresponse: tracedAs, "content-type": JSON_UTF8, "content-length": Buffer.byteLength(out) };
    res.writeHead(status, headers);
    res.end(out);
    h.responded(reqId, principal?.id ?? null, "POST", path, ROUTE, status, performance.now() - t0, ip);
  }
}

/**
 * The whole body when node's parser has read all of it and nothing has taken any yet (the usual
 * case a poll phase after its headers); else undefined, and readBody waits for the rest.
 */
function bufferedBody(req: IncomingMessage): string | undefined {
  if (!req.complete || req.readableFlowing !== null || req.readableLength === 0) return undefined;
  const body = req.read() as Buffer | null;
  return body === null ? undefined : body.toString("utf8");
}

/** The request body's text (Content-Length-framed, within the limit: checked before). */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", reject);
    req.on("close", () => {
      if (!req.complete) reject(new BkgError(ErrorCodes.RequestCancelled, "the client went away while sending the body"));
    });
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8")));
  });
}

/** parseJsonBody, returning the value or throwing its HttpError. */
function parseBody(text: string): unknown {
  let out: { err: Error | null; value?: unknown } | undefined;
  parseJsonBody(null, text, (err, value) => {
    out = { err, value };
  });
  if (out!.err) throw out!.err;
  return out!.value;
}
