/**
 * Every HTTP failure as one JSON shape:
 *
 *   {"error": {"code": -33003, "name": "PermissionDenied", "message": "...", "details": {...}?}}
 *
 * `code` is the JSON-RPC code (docs/errors.md), `name` its name, `details` the error's data. The
 * status comes from ERROR_TABLE (404 unknown, 400 invalid params, 401 unauthenticated, 403
 * permission, 429 overloaded or rate limited, 503 unavailable, 504 deadline, 502 plugin error);
 * a plugin's own code (outside the reserved bands) is a 502. Fastify's own failures map to
 * 400 (bad JSON, schema), 413 (body too large), 415 (not JSON).
 */
import { BkgError, ErrorCodes, errorInfo } from "@bkg/protocol";

/** A BkgError with an HTTP status other than its code's default (413, 415, 409, ...). */
export class HttpError extends BkgError {
  constructor(
    readonly status: number,
    code: number,
    message: string,
    data?: unknown,
  ) {
    super(code, message, data);
  }
}

export interface ErrorBody {
  error: { code: number; name?: string; message: string; details?: unknown };
}

/** The status for a wire code: ERROR_TABLE's, else 502 (a plugin's own code). */
export function statusOf(code: number): number {
  return errorInfo(code)?.http ?? 502;
}

export function errorBody(err: BkgError): ErrorBody {
  const name = errorInfo(err.code)?.name;
  return { error: { code: err.code, ...(name ? { name } : {}), message: err.message, ...(err.data === undefined ? {} : { details: err.data }) } };
}

interface FastifyishError extends Error {
  code?: string;
  statusCode?: number;
  validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[];
  validationContext?: string;
}

/** Anything thrown while serving a request -> status and body. */
export function toHttpError(e: unknown, bodyLimit?: number): { status: number; body: ErrorBody } {
  if (e instanceof HttpError) return { status: e.status, body: errorBody(e) };
  if (e instanceof BkgError) return { status: statusOf(e.code), body: errorBody(e) };
  const f = e as FastifyishError;
  if (f && Array.isArray(f.validation)) {
    const where = f.validationContext ?? "request";
    const errors = f.validation.map((v) => ({
      path: `${v.instancePath ?? ""}${v.params?.missingProperty ? `/${String(v.params.missingProperty)}` : ""}`,
      message: v.message ?? "is invalid",
    }));
    const err = new BkgError(ErrorCodes.InvalidParams, `invalid ${where}: ${errors.map((x) => `${x.path || "/"} ${x.message}`).join("; ")}`, { errors });
    return { status: 400, body: errorBody(err) };
  }
  switch (f?.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return {
        status: 413,
        body: errorBody(
          new BkgError(ErrorCodes.InvalidRequest, `the request body is larger than the limit${bodyLimit ? ` of ${bodyLimit} bytes` : ""} (http.bodyLimit)`, {
            reason: "body_too_large",
            limit: bodyLimit,
          }),
        ),
      };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return { status: 415, body: errorBody(new BkgError(ErrorCodes.InvalidRequest, "send the body as JSON with Content-Type: application/json (curl: --json '{...}')", { reason: "media_type" })) };
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return { status: 400, body: errorBody(new BkgError(ErrorCodes.ParseError, "the body is empty but Content-Type says JSON; send {} or no Content-Type")) };
  }
  if (f instanceof SyntaxError || f?.code === "FST_ERR_CTP_INVALID_JSON_BODY") {
    return { status: 400, body: errorBody(new BkgError(ErrorCodes.ParseError, `the body is not valid JSON: ${f.message}`)) };
  }
  const status = typeof f?.statusCode === "number" ? f.statusCode : undefined;
  if (status && status >= 400 && status < 500) {
    return { status, body: errorBody(new BkgError(ErrorCodes.InvalidRequest, f.message)) };
  }
  const err = BkgError.from(e);
  return { status: statusOf(err.code), body: errorBody(err) };
}
