/**
 * What the fastify call route and its node:http fast path (http-fast-call.ts) share: the JSON
 * body parser, the batching of calls per poll phase, the call's cancellation when the client goes
 * away, and its route options.
 */
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { CancelToken, ErrorCodes, RawJson, scanJsonValue, scanMetKey } from "@bkg/protocol";
import type { RouteOptions } from "../bus/index.js";
import type { OwnSpan, Tracer } from "../tracing/index.js";
import { HttpError } from "./http-errors.js";

const kCancel = Symbol("bkg.callCancel");
type CancellableResponse = ServerResponse & { [kCancel]?: CancelToken };
// One listener function for every response: no closure per request.
function onResponseClose(this: CancellableResponse): void {
  if (!this.writableFinished) this[kCancel]?.abort();
}

/**
 * The route options of an HTTP call: caller, deadline, traceparent, and one cheap token per call
 * (no AbortController) that aborts when the response closes before it was written — the client
 * went away. The call's trace context is answered in the `traceresponse` header (W3C Trace
 * Context Level 2), so a client learns the trace id to look up. `ownSpan`: the call's span,
 * reserved when the credential check called the auth plugin (traceOfRequest). `headerNow`
 * false: the caller writes the header itself from `tracedAs` once the call is done (the fast
 * path, which writes all its headers at once), and takes the result as RawJson when it comes so.
 */
export function httpCallOptions(res: ServerResponse, principalId: string, timeoutMs: number | undefined, headers: IncomingHttpHeaders, ownSpan?: OwnSpan, headerNow = true): RouteOptions {
  const cancel = new CancelToken();
  (res as CancellableResponse)[kCancel] = cancel;
  res.on("close", onResponseClose);
  return {
    caller: `http:${principalId}`,
    timeoutMs,
    cancel,
    traceparent: traceparentOf(headers),
    ownSpan,
    onTrace: headerNow
      ? (tp) => {
          if (!res.headersSent) res.setHeader("traceresponse", tp);
        }
      : keepTrace,
    tracedAs: undefined,
    rawResult: !headerNow,
  };
}

/** The fast path's onTrace: the router calls it as opts.onTrace(tp), so `this` is the call's options. */
function keepTrace(this: RouteOptions, traceparent: string): void {
  this.tracedAs = traceparent;
}

/** The request's `traceparent` header (one value; any other shape is as good as none). */
export function traceparentOf(headers: IncomingHttpHeaders): string | undefined {
  const tp = headers.traceparent;
  return typeof tp === "string" ? tp : undefined;
}

/**
 * For a request whose credential only the auth plugin can check: its call's span, reserved now
 * (undefined with tracing off), and the traceparent the auth plugin's call is made in, so that the
 * check joins the request's trace as a child of its span.
 */
export function traceOfRequest(tracer: Tracer | undefined, incoming: string | undefined): { ownSpan?: OwnSpan; traceparent?: string } {
  if (!tracer) return { traceparent: incoming };
  const ownSpan = tracer.reserve(incoming);
  return { ownSpan, traceparent: ownSpan.traceparent };
}

/**
 * Calls that arrive in one poll phase are routed together, in its check phase (one setImmediate
 * for all of them). Each HTTP request is its own I/O callback, so routed one by one each frame
 * to the plugin left in its own write system call (the framing coalesces only within a tick);
 * routed together they leave in one write, and the plugin answers them in one too.
 */
let batch: Promise<void> | undefined;
export function nextBatch(): Promise<void> {
  return (batch ??= new Promise<void>((resolve) =>
    setImmediate(() => {
      batch = undefined;
      resolve();
    }),
  ));
}

/** Text that could spell "__proto__" or "constructor" (directly or with \u escapes) is walked. */
const SUSPECT = /__proto__|constructor|\\u/;

/**
 * application/json bodies: JSON.parse, then what fastify's secure-json-parse refuses - an own
 * "__proto__" key, or a "constructor" holding "prototype" - refused the same way (400), but
 * looked for only when the text could contain one. An empty body is a 400 too.
 */
export function parseJsonBody(_req: unknown, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void {
  const text = typeof body === "string" ? body : body.toString("utf8");
  if (text.length === 0) return done(new HttpError(400, ErrorCodes.ParseError, "the body is empty but Content-Type says JSON; send {} or no Content-Type"));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return done(new HttpError(400, ErrorCodes.ParseError, `the body is not valid JSON: ${(e as Error).message}`));
  }
  if (SUSPECT.test(text) && poisoned(value)) {
    return done(new HttpError(400, ErrorCodes.ParseError, "the body is not valid JSON: Object contains forbidden prototype property"));
  }
  done(null, value);
}

/**
 * The body as RawJson when a call can take it unparsed (see RawJson): a JSON object within
 * maxDepth, with no `_meta` member and nothing the prototype check above would walk.
 * undefined: it goes through parseJsonBody, which also words every refusal.
 */
export function passThroughBody(text: string, maxDepth: number): RawJson | undefined {
  if (SUSPECT.test(text)) return undefined;
  let start = 0;
  while (isSpace(text.charCodeAt(start))) start++;
  if (text.charCodeAt(start) !== 0x7b) return undefined;
  const end = scanJsonValue(text, start, maxDepth, "_meta");
  if (end < 0 || scanMetKey) return undefined;
  for (let i = end; i < text.length; i++) if (!isSpace(text.charCodeAt(i))) return undefined;
  return new RawJson(text.slice(start, end), maxDepth);
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function poisoned(v: unknown): boolean {
  if (v === null || typeof v !== "object") return false;
  if (Array.isArray(v)) return v.some(poisoned);
  if (Object.hasOwn(v, "__proto__")) return true;
  const c = (v as Record<string, unknown>).constructor;
  if (Object.hasOwn(v, "constructor") && c !== null && typeof c === "object" && Object.hasOwn(c, "prototype")) return true;
  for (const k in v) if (poisoned((v as Record<string, unknown>)[k])) return true;
  return false;
}
