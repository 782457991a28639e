/**
 * The router: "plugin.method" to a ready instance, with the call's deadline, cancellation,
 * params validation, bulkhead and streaming. Every failure is a BkgError with a wire code.
 */
import { BkgError, CancelToken, DEFAULT_MAX_JSON_DEPTH, DeadlineTimers, ErrorCodes, exceedsDepth, permits, RawJson, splitTarget, type BkgCallParams, type CallMeta } from "@bkg/protocol";
import type { CallLink, PluginHost, Supervisor } from "../supervisor/index.js";
import type { OwnSpan, Span, Tracer } from "../tracing/index.js";
import { toProblems } from "../validation/schemas.js";
import { deadlineMessage } from "./deadline-message.js";

export interface RouteOptions {
  /** Who is calling, for _meta.caller and logs: "cli", "client:3", "plugin:echo". */
  caller: string;
  /** Relative timeout; the manifest's timeouts.call when absent. */
  timeoutMs?: number;
  /** Absolute deadline (epoch ms); wins over timeoutMs. */
  deadline?: number;
  /** The call may not outlive this (epoch ms): a nested call's outer deadline. */
  notAfter?: number;
  /**
   * Aborts the call: the plugin gets $/cancelRequest and the call rejects with -32800. A token,
   * not an AbortSignal: it is made per call on every gateway's hot path
   * (CancelToken.fromSignal bridges a signal).
   */
  cancel?: CancelToken;
  /** Receives streamed values in order; its presence asks the plugin to stream. */
  onProgress?: (value: unknown) => void;
  /** The caller's W3C trace context; a malformed one is ignored (a new trace starts). */
  traceparent?: string;
  /**
   * This call's own span context, reserved (Tracer.reserve) before the call was routed so that
   * work done on its behalf first (the credential check) joins its trace as a child.
   */
  ownSpan?: OwnSpan;
  /**
   * Told the trace context the call runs in (what the plugin receives) as soon as it is known,
   * before the call is served: the HTTP gateways answer it in the traceresponse header.
   */
  onTrace?: (traceparent: string) => void;
  /**
   * Free for the caller's onTrace to keep the trace context in (called as opts.onTrace(), so
   * `this` is these options): the HTTP fast path answers it with the response's other headers,
   * with one shared function instead of a closure and a setHeader per call.
   */
  tracedAs?: string;
  /** The call came from this cluster node: it is served here or fails, never forwarded again. */
  fromNode?: string;
  /** The semver range the caller requires of the target plugin (its manifest's `requires`). */
  range?: string;
  /**
   * The caller only forwards the result: it may come back as RawJson (see RpcPeer.send). Params
   * may be RawJson whatever this says; they are parsed here when something must look inside.
   */
  rawResult?: boolean;
}

/**
 * Calls to plugins on other daemons (src/cluster). `route` decides where a call goes: undefined
 * keeps it here (a ready local instance, or one that is starting and no node serves it); a
 * RemoteCall sends it to another node. It throws a BkgError when the plugin is served nowhere
 * reachable (unknown, every node at its limit, the bus down).
 */
export interface RemoteRoutes {
  route(plugin: string, local: PluginHost | undefined, range: string | undefined): RemoteCall | undefined;
}

export interface RemoteCall {
  /** The serving plugin's timeouts.call, for calls that name no timeout. */
  callTimeoutMs: number;
  /**
   * Sends the call; settles exactly once, at once when `cancel` fires (the node is told).
   * `traceparent` is the context the node receives (this call's span when it is sampled), passed
   * apart from `opts` so that a traced call does not copy its options per call.
   */
  run(target: string, params: Record<string, unknown>, deadline: number, cancel: CancelToken, opts: RouteOptions, traceparent: string | undefined): Promise<unknown>;
}

/**
 * Watches routed calls (telemetry, metrics). `started` is called once the target method is known
 * to exist; `done` exactly once afterwards with the wire code (0 on success), the time since the
 * call reached the router and the time spent waiting for a slot. Both are synchronous, cheap and
 * must not throw. Calls to unknown plugins or methods are not observed (their names are the
 * caller's, not bounded).
 */
export interface CallObserver<S = unknown> {
  started(plugin: string, method: string): S;
  done(state: S, code: number, durationMs: number, queueWaitMs: number, error?: BkgError): void;
}

/** A plugin's own clock may run a little ahead of ours. */
const DEADLINE_SLACK_MS = 50;
/** When a call must be answered by (epoch ms), and the time it was given, for its error message. */
interface CallDeadline {
  at: number;
  budgetMs: number;
}

export const MAX_TIMEOUT_MS = 2_147_483_647;

export interface RouterLimits {
  /** How deeply params may nest (config limits.jsonDepth). */
  jsonDepth: number;
}

export class Router {
  /** Set by the composition root; absent, calls are not observed. */
  observer?: CallObserver;
  /** Set by the composition root when the daemon is part of a cluster. */
  cluster?: RemoteRoutes;
  /** Every routed call's deadline timer, on one Node timer (a setTimeout per call showed in the profile). */
  private readonly deadlines = new DeadlineTimers();
  /** Set by the composition root unless telemetry.tracing.enabled is false: a span per routed call. */
  tracer?: Tracer;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly limits: RouterLimits = { jsonDepth: DEFAULT_MAX_JSON_DEPTH },
  ) {}

  /**
   * Routes one call. Resolves with the plugin's result or rejects with a BkgError; never both,
   * never twice. The deadline covers waiting for a starting plugin and the queue.
   */
  async call(target: string, params: unknown, opts: RouteOptions): Promise<unknown> {
    const t = splitTarget(target);
    if (!t) throw new BkgError(ErrorCodes.MethodNotFound, `"${target}" is not a plugin method; call it as plugin.method (e.g. echo.reverse)`);
    const host = this.supervisor.get(t.plugin);
    // A call from another node is never forwarded again: it is served here or fails.
    const remote = this.cluster && opts.fromNode === undefined ? this.cluster.route(t.plugin, host, opts.range) : undefined;
    if (!host && !remote) {
      const known = [...this.supervisor.hosts.keys()].sort();
      const here = opts.fromNode ? ` on this node (the call came from node ${opts.fromNode})` : "";
      throw new BkgError(ErrorCodes.MethodNotFound, `no plugin named "${t.plugin}"${here}; running plugins: ${known.join(", ") || "(none)"}`);
    }
    // One span per call that reached a known plugin, on every surface and node (docs/tracing.md).
    const tracer = this.tracer;
    if (tracer === undefined) return this.run(target, t.method, host, remote, params, opts, opts.traceparent, undefined);
    const trace = tracer.begin(opts.traceparent, target, opts.caller, opts.ownSpan);
    opts.onTrace?.(typeof trace === "string" ? trace : trace.traceparent);
    if (typeof trace === "string") return this.run(target, t.method, host, remote, params, opts, trace, undefined);
    try {
      const result = await this.run(target, t.method, host, remote, params, opts, trace.traceparent, trace);
      tracer.end(trace, 0);
      return result;
    } catch (e) {
      tracer.end(trace, BkgError.from(e).code);
      throw e;
    }
  }

  /** The rest of `call` once the target is known: `traceparent` is what the plugin (or node) receives. */
  private async run(
    target: string,
    method: string,
    host: PluginHost | undefined,
    remote: RemoteCall | undefined,
    params: unknown,
    opts: RouteOptions,
    traceparent: string | undefined,
    span: Span | undefined,
  ): Promise<unknown> {
    if (params === undefined || params === null) params = {};
    // Text that passes through unparsed is an object within its scan's bound (RpcPeer.takeRaw);
    // a node elsewhere, or a looser bound than ours, needs the value.
    if (params instanceof RawJson && (remote || params.maxDepth > this.limits.jsonDepth)) params = params.value();
    if (!(params instanceof RawJson)) {
      if (typeof params !== "object" || Array.isArray(params)) {
        throw new BkgError(ErrorCodes.InvalidParams, `params for ${target} must be a JSON object, got ${Array.isArray(params) ? "an array" : typeof params}`);
      }
      if (exceedsDepth(params, this.limits.jsonDepth)) {
        throw new BkgError(ErrorCodes.InvalidParams, `params for ${target} are nested deeper than ${this.limits.jsonDepth} levels (limits.jsonDepth)`);
      }
    }
    if (opts.timeoutMs !== undefined) checkTimeout(target, opts.timeoutMs);
    if (opts.deadline !== undefined && !Number.isFinite(opts.deadline)) {
      throw new BkgError(ErrorCodes.InvalidParams, `the deadline for ${target} must be a time in epoch milliseconds`);
    }
    const now = Date.now();
    let deadline = opts.deadline ?? now + (opts.timeoutMs ?? (remote ? remote.callTimeoutMs : host!.manifest.timeouts.call));
    if (opts.notAfter !== undefined && opts.notAfter < deadline) deadline = opts.notAfter;
    const budget = Math.min(deadline - now, MAX_TIMEOUT_MS);
    const token = new CancelToken();
    const expiry = { at: now + Math.max(0, budget), expire: () => token.abort(new BkgError(ErrorCodes.DeadlineExceeded, deadlineMessage(target, budget))) };
    this.deadlines.add(expiry);
    const onCallerAbort = () => token.abort(new BkgError(ErrorCodes.RequestCancelled, `${target} was cancelled by the caller`));
    const { cancel } = opts;
    if (cancel?.aborted) onCallerAbort();
    else cancel?.onAbort(onCallerAbort);
    try {
      // A forwarded call is observed where it is served (that node's telemetry), not twice.
      if (remote) return await remote.run(target, params as Record<string, unknown>, deadline, token, opts, traceparent);
      return await this.dispatch(host!, method, params as Record<string, unknown> | RawJson, { at: deadline, budgetMs: budget }, token, opts, performance.now(), traceparent, span);
    } finally {
      this.deadlines.delete(expiry);
      cancel?.off(onCallerAbort);
    }
  }

  /**
   * Finds the method, observes the call, validates, takes a slot and calls the instance. One
   * async function, not three nested ones: every level cost a promise and a turn per call.
   */
  private async dispatch(
    host: PluginHost,
    method: string,
    params: Record<string, unknown> | RawJson,
    { at: deadline, budgetMs }: CallDeadline,
    signal: CancelToken,
    opts: RouteOptions,
    t0: number,
    traceparent: string | undefined,
    span: Span | undefined,
  ): Promise<unknown> {
    if (!host.hasServing()) await host.waitReady(signal);
    const entry = host.methods?.get(method);
    if (!entry) {
      const names = [...(host.methods?.keys() ?? [])].sort();
      throw new BkgError(ErrorCodes.MethodNotFound, `plugin ${host.name} has no method "${method}"; it has: ${names.join(", ") || "(none)"}`);
    }
    const observer = this.observer;
    const state = observer?.started(host.name, method);
    let queueWaitMs = 0;
    let result: unknown;
    try {
      // RawJson holds no _meta member (RpcPeer.takeRaw); a schema needs the value.
      if (params instanceof RawJson) {
        if (entry.validate) params = params.value() as Record<string, unknown>;
      } else if ("_meta" in params) {
        const { _meta, ...rest } = params;
        params = rest;
      }
      if (entry.validate && !entry.validate(params)) {
        const errors = toProblems(entry.validate.errors);
        throw new BkgError(ErrorCodes.InvalidParams, `invalid params for ${host.name}.${method}: ${errors.map((e) => `${e.path || "/"} ${e.message}`).join("; ")}`, { errors });
      }
      let inst = host.bulkhead.tryAcquire();
      if (!inst) {
        const q0 = performance.now();
        inst = await host.bulkhead.acquire(signal);
        queueWaitMs = performance.now() - q0;
      }
      if (span) {
        span.queueWaitMs = queueWaitMs;
        span.instance = inst.traceLabel;
      }
      const meta: CallMeta = { deadline, caller: opts.caller };
      if (traceparent) meta.traceparent = traceparent;
      try {
        result = await inst.call(method, params, meta, { cancel: signal, onProgress: opts.onProgress, rawResult: opts.rawResult });
      } catch (e) {
        // A plugin stops by itself at _meta.deadline (protocol §3.1) and may answer -32800 or its
        // SDK's own -33001 a moment before our timer fires; the caller did not cancel, so it is the
        // deadline, and the caller reads the same words as when the timer wins.
        const code = (e as BkgError)?.code;
        const stoppedItself = code === ErrorCodes.RequestCancelled || code === ErrorCodes.DeadlineExceeded;
        if (!signal.aborted && stoppedItself && Date.now() >= deadline - DEADLINE_SLACK_MS) {
          throw new BkgError(ErrorCodes.DeadlineExceeded, deadlineMessage(`${host.name}.${method}`, budgetMs));
        }
        throw e;
      } finally {
        host.release(inst);
      }
    } catch (e) {
      if (observer) {
        const err = BkgError.from(e);
        observer.done(state, err.code, performance.now() - t0, queueWaitMs, err);
      }
      throw e;
    }
    observer?.done(state, 0, performance.now() - t0, queueWaitMs);
    return result;
  }

  /**
   * A bkg/call from a plugin: checked against its manifest's permissions, then routed. When it
   * names the call it serves (`parent`), it inherits that call's deadline (the smaller of the
   * two wins), its cancellation and its trace; it is also cancelled by the plugin's own
   * $/cancelRequest or exit (`link.cancel`).
   */
  pluginCall(caller: PluginHost, p: BkgCallParams, link?: CallLink): Promise<unknown> {
    if (!p || typeof p.method !== "string") {
      return Promise.reject(new BkgError(ErrorCodes.InvalidParams, 'bkg/call needs params {method: "plugin.method", params?}'));
    }
    const allowed = caller.manifest.permissions.some((pattern) => permits(pattern, p.method));
    if (!allowed) {
      return Promise.reject(
        new BkgError(
          ErrorCodes.PermissionDenied,
          `plugin ${caller.name} may not call ${p.method}; add a matching pattern to "permissions" in ${caller.manifest.file} (it has: ${caller.manifest.permissions.join(", ") || "none"})`,
        ),
      );
    }
    const parent = link?.parent;
    const cancel = new CancelToken();
    const sources = [link?.cancel, parent?.cancel].filter((c): c is CancelToken => c !== undefined);
    const onAbort = (reason?: unknown) =>
      cancel.abort(
        parent?.cancel?.aborted
          ? new BkgError(ErrorCodes.RequestCancelled, `${p.method} was cancelled: the call ${caller.name} made it for ended (${BkgError.from(reason ?? "cancelled").message})`)
          : new BkgError(ErrorCodes.RequestCancelled, `${p.method} was cancelled by ${caller.name}`),
      );
    for (const s of sources) {
      if (s.aborted) onAbort(s.reason);
      else s.onAbort(onAbort);
    }
    const done = this.call(p.method, p.params, {
      caller: `plugin:${caller.name}`,
      timeoutMs: p.timeoutMs,
      notAfter: parent?.deadline,
      range: requiredRange(caller.manifest.requires, p.method),
      cancel,
      traceparent: typeof p.traceparent === "string" ? p.traceparent : parent?.traceparent,
      // The answer goes straight back to the calling plugin.
      rawResult: true,
    });
    const off = () => sources.forEach((s) => s.off(onAbort));
    done.then(off, off);
    return done;
  }
}

/** The semver range a plugin's manifest requires of the plugin it calls, if any. */
function requiredRange(requires: Record<string, string>, method: string): string | undefined {
  const plugin = splitTarget(method)?.plugin;
  return plugin !== undefined && Object.hasOwn(requires, plugin) ? requires[plugin] : undefined;
}

/** A timeout the timers can keep: from 1 to MAX_TIMEOUT_MS ms. */
function checkTimeout(target: string, ms: unknown): void {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 1 || ms > MAX_TIMEOUT_MS) {
    throw new BkgError(ErrorCodes.InvalidParams, `the timeout for ${target} must be a number of milliseconds from 1 to ${MAX_TIMEOUT_MS} (about 24.8 days), got ${JSON.stringify(ms)}`);
  }
}
