/**
 * The wire error codes of protocol v1. JSON-RPC reserves -32768..-32000; bkg's own band is
 * -33000..-33099, which no library layer uses (vscode-jsonrpc emits -32001/-32002 and reserves
 * -32099..-32096). docs/errors.md and every SDK's enum are kept in step with this table by
 * test/unit/protocol/error-codes.test.ts.
 */
export const ErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  RequestCancelled: -32800,
  PluginUnavailable: -33000,
  DeadlineExceeded: -33001,
  Overloaded: -33002,
  PermissionDenied: -33003,
  PluginCrashed: -33004,
  Unauthenticated: -33005,
  ProtocolMismatch: -33006,
  PluginError: -33010,
} as const;

export type ErrorCodeName = keyof typeof ErrorCodes;
export type ErrorCode = (typeof ErrorCodes)[ErrorCodeName];

export interface ErrorCodeInfo {
  code: ErrorCode;
  name: ErrorCodeName;
  /** HTTP status a gateway maps the code to. */
  http: number;
  /** When the code is used, in words an operator can act on. */
  meaning: string;
}

/** One row per code: the single source for docs/errors.md and the HTTP mapping. */
export const ERROR_TABLE: readonly ErrorCodeInfo[] = [
  { code: -32700, name: "ParseError", http: 400, meaning: "The message was not valid JSON (or its framing was broken)." },
  { code: -32600, name: "InvalidRequest", http: 400, meaning: "The message was JSON but not a valid JSON-RPC 2.0 request." },
  { code: -32601, name: "MethodNotFound", http: 404, meaning: "No such plugin or method; the message names what exists." },
  { code: -32602, name: "InvalidParams", http: 400, meaning: "Params failed the method's paramsSchema; `data.errors` lists each problem with its JSON pointer." },
  { code: -32603, name: "InternalError", http: 500, meaning: "A bug in the daemon or SDK; the message says where." },
  { code: -32800, name: "RequestCancelled", http: 499, meaning: "The caller cancelled the call ($/cancelRequest)." },
  { code: -33000, name: "PluginUnavailable", http: 503, meaning: "The plugin is stopped, invalid, blocked, failed or in a crash loop; the message says which and why." },
  { code: -33001, name: "DeadlineExceeded", http: 504, meaning: "The call's deadline passed; the plugin was sent $/cancelRequest." },
  { code: -33002, name: "Overloaded", http: 429, meaning: "Every instance is at its concurrency limit and the queue is full." },
  { code: -33003, name: "PermissionDenied", http: 403, meaning: "The caller may not call this method (manifest permissions or credential scope)." },
  { code: -33004, name: "PluginCrashed", http: 502, meaning: "The instance serving the call exited, hung or broke the protocol before answering." },
  { code: -33005, name: "Unauthenticated", http: 401, meaning: "No valid credential was presented." },
  { code: -33006, name: "ProtocolMismatch", http: 502, meaning: "Daemon and plugin speak different protocol major versions." },
  { code: -33010, name: "PluginError", http: 502, meaning: "The plugin's handler threw; message and data are the plugin's own." },
];

const byCode = new Map<number, ErrorCodeInfo>(ERROR_TABLE.map((e) => [e.code, e]));

/** The table row for a code, or undefined for a plugin's own application code. */
export function errorInfo(code: number): ErrorCodeInfo | undefined {
  return byCode.get(code);
}
