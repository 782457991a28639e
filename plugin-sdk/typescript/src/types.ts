import type { CallMeta, LogLevel, TraceContext } from "@bkg/protocol";

/** Options of a bkg/call made through the SDK. */
export interface CallOptions {
  timeoutMs?: number;
  /**
   * The W3C trace context the nested call joins. A handler's ctx.call passes its own call's
   * (ctx.trace) without being asked; set it for a call made outside a handler (in activate, a
   * timer) that belongs to a trace.
   */
  traceparent?: string;
}

/** What a handler gets besides its params. One per call. */
export interface Context {
  /** Fired when the caller cancels or the call's deadline passes. `signal.reason` says which. */
  readonly signal: AbortSignal;
  /** Absolute deadline (epoch ms), if the daemon sent one. */
  readonly deadline?: number;
  /** Who called: "cli", "client:3", "plugin:other", ... */
  readonly caller?: string;
  /** The raw `_meta` the daemon sent with this call. */
  readonly meta: CallMeta;
  /**
   * This call's W3C trace context: `spanId` is the daemon's span for this call, so the calls the
   * handler makes become its children. Undefined when the daemon sent none (or an invalid one).
   */
  readonly trace?: TraceContext;
  /** The manifest's `config`, as received at initialize. */
  readonly config: Record<string, unknown>;
  /** This plugin's data folder. */
  readonly dataDir: string;
  /** A structured log line in the daemon's logs, under this plugin's name. */
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  /** Calls another plugin's method through the daemon ("plugin.method"); needs a manifest permission. It joins this call's trace. */
  call<T = unknown>(method: string, params?: unknown, options?: CallOptions): Promise<T>;
  /** Publishes an event on the daemon's event stream. */
  emit(event: string, data?: unknown): void;
  /** Sends one streamed value to the caller, if the caller asked for a stream; otherwise a no-op. */
  progress(value: unknown): void;
}

export type HandlerResult = unknown | AsyncIterable<unknown>;

// biome-ignore lint/suspicious/noExplicitAny: a method's params are untyped JSON until its definition names their type
export interface MethodDefinition<P = any> {
  description?: string;
  /** JSON Schema for params; the daemon validates calls against it before they arrive. */
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  /** Marks the method as streaming; implied when the handler is an async generator function. */
  streaming?: boolean;
  handler(params: P, ctx: Context): HandlerResult | Promise<HandlerResult>;
}

/** Lifecycle hooks get what a handler's context has, minus the per-call parts. */
export interface LifecycleContext {
  readonly config: Record<string, unknown>;
  readonly dataDir: string;
  readonly instanceId: string;
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  /** A call outside any handler: it starts a new trace unless `options.traceparent` names one. */
  call<T = unknown>(method: string, params?: unknown, options?: CallOptions): Promise<T>;
  emit(event: string, data?: unknown): void;
}

export interface PluginDefinition {
  name: string;
  version: string;
  methods: Record<string, MethodDefinition>;
  /** Event names the plugin may emit, announced at initialize. */
  events?: string[];
  /** Runs after `initialized`, before the first call is served to completion. */
  activate?(ctx: LifecycleContext): void | Promise<void>;
  /** Runs on shutdown or when stdin closes. */
  deactivate?(ctx: LifecycleContext): void | Promise<void>;
}
