/**
 * A lean JSON-RPC 2.0 endpoint for bkg's hot paths (daemon <-> plugin, client <-> daemon).
 *
 * It keeps vscode-jsonrpc's semantics — requests matched to responses by id, `$/cancelRequest`
 * turning into an aborted signal on the handling side, handlers for named methods and a
 * catch-all, notifications in order, pending requests rejected when the stream closes — but
 * dispatches every message synchronously as the parser yields it, where vscode-jsonrpc queues
 * each message for its own event-loop turn. Framing is FrameParser/FrameWriter: many messages
 * per chunk in, one write per tick out.
 */
import type { Readable, Writable } from "node:stream";
import { CancelToken, type Cancellation } from "./cancellation.js";
import { ErrorCodes } from "./error-codes.js";
import { matchRequest, matchResponse } from "./canonical-message.js";
import { FrameParser, FrameWriter, type FramingError } from "./framing.js";
import { DEFAULT_MAX_JSON_DEPTH, exceedsDepth } from "./json-depth.js";
import { scanJsonValue, scanMetKey } from "./json-scan.js";
import { RawJson } from "./raw-json.js";

/** An error answer from the other side, or one to send: a JSON-RPC error object as a value. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "RpcError";
  }
}

/** The stream closed before the answer came. */
export class PeerClosedError extends Error {
  readonly code = -32097;
  constructor(what: string) {
    super(`the connection closed before ${what} was answered`);
    this.name = "PeerClosedError";
  }
}

export interface RequestContext {
  readonly id: number | string;
  /** Aborted when the other side sends $/cancelRequest for this id (or the peer closes). */
  readonly token: CancelToken;
  /** The same as an AbortSignal, made on first use. */
  readonly signal: AbortSignal;
}

class IncomingRequest implements RequestContext {
  readonly token = new CancelToken();
  constructor(readonly id: number | string) {}
  get signal(): AbortSignal {
    return this.token.signal;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: params arrive as untyped JSON; `any` lets a handler declare its own param type
export type RequestHandler = (params: any, ctx: RequestContext) => unknown;
// biome-ignore lint/suspicious/noExplicitAny: params arrive as untyped JSON; `any` lets a handler declare its own param type
export type AnyRequestHandler = (method: string, params: any, ctx: RequestContext) => unknown;
// biome-ignore lint/suspicious/noExplicitAny: params arrive as untyped JSON; `any` lets a handler declare its own param type
export type NotificationHandler = (params: any) => void;

export interface PeerOptions {
  maxMessageBytes?: number;
  /** Sees every parsed message first; returning false drops it (after answering -32600, say). */
  accept?: (msg: unknown) => boolean;
  /** Framing problems. Fatal ones (`err.fatal`) end reading; the peer does not close the stream itself. */
  onFramingError?: (err: FramingError) => void;
  /**
   * Bounds how deeply a message's params, result or error data may nest (see exceedsDepth).
   * A request past it is answered -32602, a response past it rejects its request with -32603,
   * a notification past it is dropped; `onTooDeep` hears of each. Unbounded when absent.
   */
  maxDepth?: number;
  onTooDeep?: (what: string) => void;
  /**
   * Called after a write the output did not take at once (write() returned false), with the
   * bytes now waiting in it: the place to pause reading or drop a peer that stopped reading.
   * Never called while the other side keeps up, so it costs nothing on the hot path.
   */
  onBackpressure?: (waitingBytes: number) => void;
  /**
   * The catch-all request handler may receive params as RawJson (text checked, not parsed) when
   * the request is written in bkg's own key order, its params are an object within maxDepth
   * with no `_meta` member, and no named handler takes the method. `accept` does not see such
   * a request: it is a well-formed request by construction. Named handlers always get values.
   */
  rawParams?: boolean;
}

/**
 * Where a request's answer goes: `request` makes one around a promise; a hot path that already
 * holds a promise of its own passes itself to `send` instead, so a call makes one promise, not two.
 * Exactly one of the two is called, once: reject with RpcError (the other side's error) or
 * PeerClosedError.
 */
export interface ResponseSink {
  resolve(result: unknown): void;
  reject(err: unknown): void;
}

interface Pending {
  method: string;
  sink: ResponseSink;
  /** The result may be delivered as RawJson (see `send`). */
  raw: boolean;
  /** The cancellation watched for this request, and what it runs, to unhook at the answer. */
  cancel?: Cancellation;
  onCancel?: () => void;
}

interface Message {
  jsonrpc?: string;
  id?: number | string | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

const CANCEL = "$/cancelRequest";

export class RpcPeer {
  private readonly writer: FrameWriter;
  private readonly parser: FrameParser;
  private readonly requestHandlers = new Map<string, RequestHandler>();
  private readonly notificationHandlers = new Map<string, NotificationHandler>();
  private anyRequest?: AnyRequestHandler;
  // biome-ignore lint/suspicious/noExplicitAny: params arrive as untyped JSON; `any` lets a handler declare its own param type
  private anyNotification?: (method: string, params: any) => void;
  private readonly pending = new Map<number, Pending>();
  private readonly incoming = new Map<number | string, CancelToken>();
  private readonly closeListeners: (() => void)[] = [];
  private nextId = 0;
  private closed = false;
  /** The nesting bound of values passed through as RawJson. */
  private readonly rawDepth: number;

  constructor(
    private readonly input: Readable,
    readonly output: Writable,
    private readonly options: PeerOptions = {},
  ) {
    const onBackpressure = options.onBackpressure;
    this.writer = new FrameWriter({
      write: (chunk) => {
        if (this.closed || output.destroyed || output.writableEnded) return false;
        const ok = output.write(chunk);
        if (!ok && onBackpressure) onBackpressure(output.writableLength);
        return ok;
      },
    });
    this.rawDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
    this.parser = new FrameParser(
      (m, length) => this.dispatch(m as Message, length),
      (e) => options.onFramingError?.(e),
      { maxMessageBytes: options.maxMessageBytes, takeRaw: (body) => this.takeRaw(body) },
    );
    output.on("error", () => this.markClosed());
  }

  /** Starts reading. Call once, after registering handlers. */
  listen(): this {
    this.input.on("data", (chunk: Buffer) => this.parser.push(chunk));
    this.input.on("end", () => this.markClosed());
    this.input.on("close", () => this.markClosed());
    this.input.on("error", () => this.markClosed());
    return this;
  }

  onRequest(method: string, handler: RequestHandler): void {
    this.requestHandlers.set(method, handler);
  }

  /** Handles every request no named handler takes. */
  onAnyRequest(handler: AnyRequestHandler): void {
    this.anyRequest = handler;
  }

  onNotification(method: string, handler: NotificationHandler): void {
    this.notificationHandlers.set(method, handler);
  }

  // biome-ignore lint/suspicious/noExplicitAny: params arrive as untyped JSON; `any` lets a handler declare its own param type
  onAnyNotification(handler: (method: string, params: any) => void): void {
    this.anyNotification = handler;
  }

  onClose(fn: () => void): void {
    if (this.closed) queueMicrotask(fn);
    else this.closeListeners.push(fn);
  }

  /** Bytes read but held for a frame not yet complete. */
  get bufferedBytes(): number {
    return this.parser.buffered;
  }

  /** When (Date.now()) the incomplete frame now held began to arrive; 0 when none is. */
  get partialSince(): number {
    return this.parser.partialSince;
  }

  /** Requests from the other side not yet answered. */
  get inFlight(): number {
    return this.incoming.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Sends a request. Resolves with the result; rejects with RpcError (the other side's error)
   * or PeerClosedError. A cancellation sends $/cancelRequest and keeps waiting for the
   * answer, as vscode-jsonrpc does: the other side answers -32800 or its result.
   */
  request(method: string, params?: unknown, cancel?: Cancellation): Promise<unknown> {
    if (this.closed) return Promise.reject(new PeerClosedError(method));
    let sink!: ResponseSink;
    const p = new Promise<unknown>((resolve, reject) => {
      sink = { resolve, reject };
    });
    this.send(method, params, sink, cancel);
    return p;
  }

  /**
   * `request` without a promise: the answer goes to `sink` (see ResponseSink). Throws, recording
   * nothing, when params cannot be encoded; a closed peer rejects the sink at once. Params may be
   * RawJson (written as they are). With `rawResult` a result in bkg's own key order reaches the
   * sink as RawJson, checked but not parsed (anything else arrives parsed, as always).
   */
  send(method: string, params: unknown, sink: ResponseSink, cancel?: Cancellation, rawResult = false): void {
    if (this.closed) return sink.reject(new PeerClosedError(method));
    const id = ++this.nextId;
    // Encoded before it is recorded: params that cannot be encoded (too deep, a BigInt) throw here,
    // to the caller, and leave no pending entry for a later close to reject with no one listening.
    if (params instanceof RawJson) this.writer.writeBody(`{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":${params.text}}`);
    else this.writer.write(params === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params });
    const entry: Pending = { method, sink, raw: rawResult };
    this.pending.set(id, entry);
    if (cancel) {
      const onCancel = () => {
        if (this.pending.has(id)) this.notify(CANCEL, { id });
      };
      if (cancel.aborted) onCancel();
      else {
        entry.cancel = cancel;
        entry.onCancel = onCancel;
        if (cancel instanceof CancelToken) cancel.onAbort(onCancel);
        else cancel.addEventListener("abort", onCancel, { once: true });
      }
    }
  }

  notify(method: string, params?: unknown): void {
    if (this.closed) return;
    this.writer.write(params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params });
  }

  /** Writes any message as is (e.g. an error with id null for a parse error). */
  writeRaw(msg: unknown): void {
    this.writer.write(msg);
  }

  /** Writes what is queued now, for the last message before exit. */
  flush(): void {
    this.writer.flushNow();
  }

  /** Stops the peer: pending requests reject, handlers are told through their signals. Idempotent. */
  dispose(): void {
    this.writer.flushNow();
    this.markClosed();
  }

  /** The pass-through path (see RawJson): true when `body` was handled without parsing it. */
  private takeRaw(body: string): boolean {
    const response = matchResponse(body);
    if (response) {
      const p = this.pending.get(response.id);
      if (!p?.raw) return false;
      const end = scanJsonValue(body, response.resultAt, this.rawDepth);
      if (end !== body.length - 1 || body.charCodeAt(end) !== 0x7d) return false;
      this.take(response.id);
      p.sink.resolve(new RawJson(body.slice(response.resultAt, end), this.rawDepth));
      return true;
    }
    if (!this.options.rawParams || !this.anyRequest) return false;
    const request = matchRequest(body);
    if (!request || body.charCodeAt(request.paramsAt) !== 0x7b || this.requestHandlers.has(request.method)) return false;
    const end = scanJsonValue(body, request.paramsAt, this.rawDepth, "_meta");
    if (end !== body.length - 1 || body.charCodeAt(end) !== 0x7d || scanMetKey) return false;
    this.handleRequest(request.id, request.method, new RawJson(body.slice(request.paramsAt, end), this.rawDepth));
    return true;
  }

  private dispatch(m: Message, bodyLength: number): void {
    if (this.options.accept && !this.options.accept(m)) return;
    const maxDepth = this.options.maxDepth;
    // Each level of nesting takes two characters, so a short body cannot be too deep: most
    // messages skip the walk.
    if (maxDepth !== undefined && bodyLength > 2 * maxDepth && m !== null && typeof m === "object" && exceedsDepth(m.params ?? m.result ?? m.error?.data, maxDepth)) {
      return this.refuseTooDeep(m, maxDepth);
    }
    if (typeof m.method === "string") {
      if (m.id === undefined || m.id === null) return this.handleNotification(m.method, m.params);
      return this.handleRequest(m.id, m.method, m.params);
    }
    if (typeof m.id === "number") {
      const p = this.take(m.id);
      if (!p) return;
      if (m.error) p.sink.reject(new RpcError(m.error.code, m.error.message, m.error.data));
      else p.sink.resolve(m.result);
    }
  }

  /** Removes a pending request (and its cancellation hook) as its answer arrives. */
  private take(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    if (p.onCancel) unhook(p.cancel!, p.onCancel);
    return p;
  }

  private handleNotification(method: string, params: unknown): void {
    if (method === CANCEL) {
      const id = (params as { id?: number | string } | undefined)?.id;
      if (id !== undefined) this.incoming.get(id)?.abort();
      return;
    }
    const h = this.notificationHandlers.get(method);
    if (h) h(params);
    else this.anyNotification?.(method, params);
  }

  private handleRequest(id: number | string, method: string, params: unknown): void {
    const named = this.requestHandlers.get(method);
    if (!named && !this.anyRequest) {
      return this.writer.write({ jsonrpc: "2.0", id, error: { code: ErrorCodes.MethodNotFound, message: `unhandled method ${method}` } });
    }
    const ctx = new IncomingRequest(id);
    this.incoming.set(id, ctx.token);
    let out: unknown;
    try {
      out = named ? named(params, ctx) : this.anyRequest!(method, params, ctx);
    } catch (e) {
      return this.answerError(id, e);
    }
    if (out instanceof Promise) {
      out.then(
        (r) => this.answer(id, r),
        (e) => this.answerError(id, e),
      );
    } else this.answer(id, out);
  }

  private refuseTooDeep(m: Message, maxDepth: number): void {
    const what = `nested deeper than ${maxDepth} levels`;
    if (typeof m.method === "string") {
      this.options.onTooDeep?.(`${m.method}: params ${what}`);
      if (m.id === undefined || m.id === null) return;
      return this.writer.write({ jsonrpc: "2.0", id: m.id, error: { code: ErrorCodes.InvalidParams, message: `params of ${m.method} are ${what}` } });
    }
    if (typeof m.id !== "number") return;
    const p = this.take(m.id);
    if (!p) return;
    this.options.onTooDeep?.(`the answer to ${p.method}: ${what}`);
    p.sink.reject(new RpcError(ErrorCodes.InternalError, `the answer to ${p.method} was refused: it is ${what}`));
  }

  private answer(id: number | string, result: unknown): void {
    this.incoming.delete(id);
    if (result instanceof RawJson) {
      return this.writer.writeBody(`{"jsonrpc":"2.0","id":${typeof id === "number" ? id : JSON.stringify(id)},"result":${result.text}}`);
    }
    try {
      this.writer.write({ jsonrpc: "2.0", id, result: result === undefined ? null : result });
    } catch (e) {
      // A handler's result that JSON cannot carry must still answer the request, and must not
      // throw out of the promise callback that delivered it.
      this.writer.write({ jsonrpc: "2.0", id, error: { code: ErrorCodes.InternalError, message: `the result could not be encoded as JSON: ${(e as Error).message}` } });
    }
  }

  private answerError(id: number | string, e: unknown): void {
    this.incoming.delete(id);
    const err = e as { code?: unknown; message?: unknown; data?: unknown };
    const code = typeof err?.code === "number" ? err.code : ErrorCodes.InternalError;
    const message = typeof err?.message === "string" ? err.message : String(e);
    try {
      this.writer.write({ jsonrpc: "2.0", id, error: err?.data === undefined ? { code, message } : { code, message, data: err.data } });
    } catch {
      this.writer.write({ jsonrpc: "2.0", id, error: { code, message } });
    }
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      if (p.onCancel) unhook(p.cancel!, p.onCancel);
      p.sink.reject(new PeerClosedError(p.method));
    }
    for (const token of this.incoming.values()) token.abort();
    this.incoming.clear();
    for (const fn of this.closeListeners.splice(0)) fn();
  }
}

function unhook(c: Cancellation, fn: () => void): void {
  if (c instanceof CancelToken) c.off(fn);
  else c.removeEventListener("abort", fn);
}
