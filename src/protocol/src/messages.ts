/**
 * Wire types of protocol v1, message by message. docs/protocol.md is the normative text;
 * these types follow it.
 */

/** Method names on the wire. Calls into a plugin use the bare method name (`reverse`). */
export const Methods = {
  initialize: "initialize",
  initialized: "initialized",
  shutdown: "shutdown",
  exit: "exit",
  cancelRequest: "$/cancelRequest",
  progress: "$/progress",
  call: "bkg/call",
  emit: "bkg/emit",
  log: "bkg/log",
  ping: "bkg/ping",
} as const;

/** Metadata the daemon adds to every call's params as `_meta`; SDKs strip it before the handler. */
export interface CallMeta {
  /** Absolute deadline, epoch milliseconds. */
  deadline?: number;
  /** Who called: "client:<id>", "plugin:<name>", "cli", ... */
  caller?: string;
  /** Present when the caller wants streamed partial results as $/progress. */
  progressToken?: string | number;
  /** W3C trace context, passed through untouched. */
  traceparent?: string;
  /**
   * The daemon's handle for this call, unique per instance. A plugin names it as `parent` in the
   * bkg/calls it makes while serving the call, so they inherit its deadline, cancellation and
   * trace (protocol §4.1).
   */
  callId?: string;
}

export interface MethodDescriptor {
  name: string;
  description?: string;
  paramsSchema?: Record<string, unknown>;
  resultSchema?: Record<string, unknown>;
  streaming?: boolean;
}

export interface InitializeParams {
  protocolVersion: string;
  daemon: { version: string };
  plugin: { name: string; instanceId: string; dataDir: string };
  config: Record<string, unknown>;
}

export interface InitializeResult {
  protocolVersion: string;
  name: string;
  version: string;
  methods: MethodDescriptor[];
  events?: string[];
}

export interface ProgressParams {
  token: string | number;
  value: unknown;
}

export interface CancelParams {
  id: string | number;
}

export interface BkgCallParams {
  /** "plugin.method" */
  method: string;
  params?: unknown;
  /** Optional timeout for the nested call, ms; bounded by the outer call's deadline. */
  timeoutMs?: number;
  /** The `_meta.callId` of the call being served: the nested call inherits its deadline, cancellation and trace. */
  parent?: string;
  /** W3C trace context of the nested call; the parent's when absent. */
  traceparent?: string;
}

export interface EmitParams {
  event: string;
  data?: unknown;
}

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

export interface LogParams {
  level: LogLevel;
  msg: string;
  [field: string]: unknown;
}

export interface PingResult {
  /** Epoch ms at the plugin when it answered. */
  now?: number;
}

/** Splits "plugin.method.with.dots" at the first dot. */
export function splitTarget(target: string): { plugin: string; method: string } | undefined {
  const dot = target.indexOf(".");
  if (dot <= 0 || dot === target.length - 1) return undefined;
  return { plugin: target.slice(0, dot), method: target.slice(dot + 1) };
}

/** Does a permission pattern ("echo.*", "echo.reverse", "*") allow a target? */
export function permits(pattern: string, target: string): boolean {
  if (pattern === "*" || pattern === target) return true;
  if (pattern.endsWith(".*")) return target.startsWith(pattern.slice(0, -1));
  return false;
}
