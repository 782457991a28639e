import type { Readable, Writable } from "node:stream";
import {
  BkgError,
  CancelToken,
  ErrorCodes,
  Methods,
  PROTOCOL_VERSION,
  parseTraceparent,
  RpcError,
  RpcPeer,
  type CallMeta,
  type InitializeParams,
  type InitializeResult,
  type LogLevel,
  type TraceContext,
} from "@bkg/protocol";
import type { CallOptions, Context, LifecycleContext, MethodDefinition, PluginDefinition } from "./types.js";

export interface ServeOptions {
  input?: Readable;
  output?: Writable;
  /** Called instead of process.exit when the daemon says exit or stdin closes. */
  onExit?: (code: number) => void;
}

const PROTOCOL_MAJOR = PROTOCOL_VERSION.split(".")[0];

/**
 * Serves a plugin definition over a framed stream pair (stdin/stdout by default). Returns once
 * listening; the process then lives until `exit` or stdin closing. Calling it twice serves twice.
 */
export function serve(def: PluginDefinition, options: ServeOptions = {}): RpcPeer {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const usingStdio = output === process.stdout;
  if (usingStdio) protectStdout();
  const exit = options.onExit ?? ((code: number) => process.exit(code));
  const connection = new RpcPeer(input, output, {
    // A daemon that sends garbage cannot be spoken to: leave, as when stdin closes.
    onFramingError: (err) => {
      if (err.fatal) void finish(1);
    },
  });
  const writer = connection;

  let init: InitializeParams | undefined;
  let deactivated = false;
  const lifecycle = (): LifecycleContext => ({
    config: init?.config ?? {},
    dataDir: init?.plugin.dataDir ?? process.env.BKG_DATA_DIR ?? "",
    instanceId: init?.plugin.instanceId ?? "",
    log: (level, msg, fields) => log(connection, level, msg, fields),
    call: (method, params, opts) => call(connection, method, params, opts?.timeoutMs, undefined, opts?.traceparent),
    emit: (event, data) => connection.notify(Methods.emit, { event, data }),
  });
  const deactivate = async () => {
    if (deactivated) return;
    deactivated = true;
    await def.deactivate?.(lifecycle());
  };
  const finish = async (code: number) => {
    try {
      await deactivate();
    } finally {
      writer.flush();
      exit(code);
    }
  };

  connection.onRequest(Methods.initialize, (params: InitializeParams): InitializeResult => {
    const theirMajor = String(params?.protocolVersion ?? "").split(".")[0];
    if (theirMajor !== PROTOCOL_MAJOR) {
      throw new RpcError(ErrorCodes.ProtocolMismatch, `protocol mismatch: plugin ${def.name} speaks ${PROTOCOL_VERSION}, daemon speaks ${params?.protocolVersion}`);
    }
    init = params;
    return {
      protocolVersion: PROTOCOL_VERSION,
      name: def.name,
      version: def.version,
      methods: Object.entries(def.methods).map(([name, m]) => describe(name, m)),
      ...(def.events ? { events: def.events } : {}),
    };
  });
  connection.onNotification(Methods.initialized, async () => {
    try {
      await def.activate?.(lifecycle());
    } catch (e) {
      log(connection, "error", `activate failed: ${(e as Error).message}`);
      await finish(1);
    }
  });
  connection.onRequest(Methods.ping, () => ({ now: Date.now() }));
  connection.onRequest(Methods.shutdown, async () => {
    await deactivate();
    return null;
  });
  connection.onNotification(Methods.exit, () => void finish(0));
  connection.onAnyRequest(async (method: string, params: unknown, rctx) => {
    const m = def.methods[method];
    if (!m) {
      throw new RpcError(ErrorCodes.MethodNotFound, `plugin ${def.name} has no method "${method}"; it has: ${Object.keys(def.methods).join(", ")}`);
    }
    return runHandler(connection, m, params, rctx.token, init);
  });
  connection.onClose(() => void finish(0));
  connection.listen();
  return connection;
}

function describe(name: string, m: MethodDefinition) {
  const streaming = m.streaming ?? isAsyncGeneratorFunction(m.handler);
  return {
    name,
    ...(m.description ? { description: m.description } : {}),
    ...(m.params ? { paramsSchema: m.params } : {}),
    ...(m.result ? { resultSchema: m.result } : {}),
    ...(streaming ? { streaming: true } : {}),
  };
}

/**
 * One call's Context. Its AbortSignal is made only when a handler reads ctx.signal: most calls
 * never do, and an AbortController per call was the largest item in the SDK's CPU profile.
 */
class CallContext implements Context {
  readonly token = new CancelToken();
  constructor(
    private readonly connection: RpcPeer,
    readonly meta: CallMeta,
    private readonly init: InitializeParams | undefined,
  ) {}
  get signal(): AbortSignal {
    return this.token.signal;
  }
  get deadline(): number | undefined {
    return this.meta.deadline;
  }
  get caller(): string | undefined {
    return this.meta.caller;
  }
  get trace(): TraceContext | undefined {
    return parseTraceparent(this.meta.traceparent);
  }
  get config(): Record<string, unknown> {
    return this.init?.config ?? {};
  }
  get dataDir(): string {
    return this.init?.plugin.dataDir ?? process.env.BKG_DATA_DIR ?? "";
  }
  // Arrow properties, not methods: handlers destructure them (`async (p, { log, progress })`).
  readonly log = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => log(this.connection, level, msg, fields);
  /** A bkg/call made for this call: it names this call as its parent, so the daemon gives it this call's deadline (or `timeoutMs` if sooner), cancellation and trace. */
  readonly call = <T = unknown>(method: string, p?: unknown, opts?: CallOptions): Promise<T> => {
    const left = this.meta.deadline ? Math.max(1, this.meta.deadline - Date.now()) : undefined;
    const timeoutMs = opts?.timeoutMs !== undefined && left !== undefined ? Math.min(opts.timeoutMs, left) : (opts?.timeoutMs ?? left);
    return call(this.connection, method, p, timeoutMs, this.meta.callId, opts?.traceparent ?? this.meta.traceparent);
  };
  readonly emit = (event: string, data?: unknown): void => this.connection.notify(Methods.emit, { event, data });
  readonly progress = (value: unknown): void => {
    if (this.meta.progressToken !== undefined) this.connection.notify(Methods.progress, { token: this.meta.progressToken, value });
  };
}

async function runHandler(connection: RpcPeer, m: MethodDefinition, rawParams: unknown, cancelled: CancelToken, init: InitializeParams | undefined): Promise<unknown> {
  const { params, meta } = splitMeta(rawParams);
  const ctx = new CallContext(connection, meta, init);
  const token = ctx.token;
  const onCancel = () => token.abort(new BkgError(ErrorCodes.RequestCancelled, "cancelled by the caller"));
  cancelled.onAbort(onCancel);
  const timer = typeof meta.deadline === "number" ? setTimeout(() => token.abort(new BkgError(ErrorCodes.DeadlineExceeded, "deadline exceeded")), Math.max(0, meta.deadline - Date.now())) : undefined;
  try {
    let out = await m.handler(params as never, ctx);
    if (isAsyncIterable(out)) out = await drain(out, ctx, meta);
    if (token.aborted) throw token.reason;
    return out === undefined ? null : out;
  } catch (e) {
    if (token.aborted) throw new RpcError(ErrorCodes.RequestCancelled, (token.reason as Error).message);
    throw toRpcError(e);
  } finally {
    cancelled.off(onCancel);
    if (timer) clearTimeout(timer);
  }
}

/** Streams an async iterable as progress; the result is its return value, else the chunks when nobody streamed. */
async function drain(iterable: AsyncIterable<unknown>, ctx: CallContext, meta: CallMeta): Promise<unknown> {
  const chunks: unknown[] = [];
  const it = iterable[Symbol.asyncIterator]();
  for (;;) {
    if (ctx.token.aborted) {
      await it.return?.();
      throw ctx.token.reason;
    }
    const step = await it.next();
    if (step.done) {
      if (step.value !== undefined) return step.value;
      return meta.progressToken === undefined ? chunks : null;
    }
    if (meta.progressToken === undefined) chunks.push(step.value);
    else ctx.progress(step.value);
  }
}

function splitMeta(raw: unknown): { params: unknown; meta: CallMeta } {
  if (raw && typeof raw === "object" && !Array.isArray(raw) && "_meta" in raw) {
    const { _meta, ...rest } = raw as { _meta?: CallMeta };
    return { params: rest, meta: _meta ?? {} };
  }
  return { params: raw ?? {}, meta: {} };
}

// biome-ignore lint/suspicious/noExplicitAny: a nested call's result is whatever the other plugin answers; the caller types it
async function call(connection: RpcPeer, method: string, params: unknown, timeoutMs?: number, parent?: string, traceparent?: string): Promise<any> {
  try {
    return await connection.request(Methods.call, {
      method,
      params,
      ...(timeoutMs ? { timeoutMs } : {}),
      ...(parent === undefined ? {} : { parent }),
      ...(traceparent === undefined ? {} : { traceparent }),
    });
  } catch (e) {
    throw BkgError.from(e);
  }
}

function log(connection: RpcPeer, level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
  connection.notify(Methods.log, { ...fields, level, msg });
}

/** A handler's failure as a wire error: its own code when it has one, -33010 otherwise. */
function toRpcError(e: unknown): RpcError {
  if (e instanceof RpcError) return e;
  if (e instanceof BkgError) return new RpcError(e.code, e.message, e.data);
  const message = e instanceof Error ? e.message : String(e);
  return new RpcError(ErrorCodes.PluginError, message);
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return v != null && typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";
}

function isAsyncGeneratorFunction(fn: unknown): boolean {
  return typeof fn === "function" && fn.constructor?.name === "AsyncGeneratorFunction";
}

/** console.log in a plugin must not corrupt the frame stream: send console output to stderr. */
function protectStdout(): void {
  const toErr = (...args: unknown[]) => process.stderr.write(`${args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ")}\n`);
  console.log = toErr;
  console.info = toErr;
  console.debug = toErr;
}
