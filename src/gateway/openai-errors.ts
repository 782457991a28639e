/**
 * Errors on the /v1 routes in OpenAI's shape, so its clients (and their retry logic) understand them:
 *
 *   {"error": {"message": "...", "type": "invalid_request_error", "param": "model", "code": "model_not_found"}}
 *
 * The status is the one bkg gives the same failure everywhere (http-errors.ts: 400, 401, 403, 404,
 * 429, 499, 502, 503, 504); `type` follows from it, `code` is the error's own reason when it has
 * one (model_not_found, context_length_exceeded, ...), else its bkg name in snake case.
 */
import { toHttpError } from "./http-errors.js";

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "invalid_request_error",
  408: "invalid_request_error",
  413: "invalid_request_error",
  415: "invalid_request_error",
  429: "rate_limit_error",
  499: "request_cancelled",
  503: "service_unavailable",
  504: "timeout",
};

const snake = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();

/** The param an error is about, when its data says (model lookups, the OpenAI body checks). */
function paramOf(details: unknown): string | null {
  const d = details as { param?: unknown; reason?: unknown } | undefined;
  if (typeof d?.param === "string") return d.param;
  if (d?.reason === "model_not_found" || d?.reason === "wrong_format") return "model";
  if (d?.reason === "context_length_exceeded") return "messages";
  return null;
}

/** Anything thrown while serving a /v1 request -> status and OpenAI error body. */
export function toOpenAIError(e: unknown, bodyLimit?: number): { status: number; body: OpenAIErrorBody } {
  const { status, body } = toHttpError(e, bodyLimit);
  const { message, name, details } = body.error;
  const reason = (details as { reason?: unknown } | undefined)?.reason;
  // 401 is always invalid_api_key (what OpenAI's clients look for); the reason stays in the message.
  const code = status === 401 ? "invalid_api_key" : typeof reason === "string" ? reason : status === 429 ? "rate_limit_exceeded" : name ? snake(name) : null;
  return { status, body: { error: { message, type: TYPES[status] ?? (status >= 500 ? "server_error" : "invalid_request_error"), param: paramOf(details), code } } };
}
