/**
 * One WebSocket session: authentication (header or first message), subscriptions to the event
 * bus, and plugin calls with streamed progress. Every CALL re-checks the credential through the
 * authenticator's cache, so revocation and expiry apply to open sessions too. A client that
 * reads too slowly (more than http.ws.maxBufferedBytes waiting, 16 MiB by default) is closed
 * with 1013 rather than buffered without bound.
 */
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import { BkgError, CancelToken, ErrorCodes, RawJson } from "@bkg/protocol";
import { atExpiry, authorizeAction, authorizeCall, modelOf, stampAuthCall, unauthenticated, type DaemonAction, type Principal } from "../auth/index.js";
import type { BusEvent, Topic } from "../events/index.js";
import type { OwnSpan } from "../tracing/index.js";
import { traceOfRequest } from "./http-call-common.js";
import { errorBody } from "./http-errors.js";
import type { SurfaceDeps } from "./surface-deps.js";
import { CLOSE, parseClientMessage, type ClientMessage, type WsTopic } from "./ws-messages.js";

const AUTH_WAIT_MS = 10_000;
const MAX_CALLS = 256;
const LOG_REPLAY = 100;
const TELEMETRY_EVERY_MS = 2_000;

const TOPIC_ACTION: Record<WsTopic, DaemonAction> = { status: "bkg.plugins.list", logs: "bkg.plugins.logs", telemetry: "bkg.plugins.telemetry", events: "bkg.events", models: "bkg.models.list" };
const BUS_TOPIC: Record<Exclude<WsTopic, "telemetry">, Topic> = { status: "lifecycle", logs: "log", events: "plugin", models: "model" };

export interface SessionInit {
  id: number;
  ip: string;
  principal?: Principal;
  credential?: string;
  /** The upgraded socket, corked while a tick's messages are sent (one write for all of them). */
  socket?: Duplex;
}

/** Ends a tick's batch of sends: one write for every message queued in it. */
function uncork(s: WsSession): void {
  s.corked = false;
  s.init.socket?.uncork();
}

export class WsSession {
  private principal?: Principal;
  private credential?: string;
  /** The cache key of `credential`, hashed once per session rather than once per call. */
  private credentialKey?: string;
  /** A nextTick will uncork the socket (see send). */
  corked = false;
  private readonly subs = new Map<string, () => void>();
  private readonly calls = new Map<string | number, CancelToken>();
  private readonly openedAt = Date.now();
  private authTimer?: NodeJS.Timeout;
  /** Closes the session when its credential expires (a session that only subscribes never re-checks). */
  private cancelExpiry?: () => void;
  private alive = true;
  private callCount = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: SurfaceDeps,
    readonly init: SessionInit,
  ) {
    this.setCredential(init.credential);
    ws.on("message", (data, isBinary) => void this.onMessage(isBinary ? "" : data.toString("utf8")));
    ws.on("pong", () => (this.alive = true));
    ws.on("close", () => this.cleanup());
    ws.on("error", () => ws.terminate());
    if (init.principal) this.ready(init.principal);
    else {
      this.authTimer = setTimeout(
        () => this.fail(new BkgError(ErrorCodes.Unauthenticated, `no credential within ${AUTH_WAIT_MS / 1000} s; send {"action":"AUTH","token":"..."} first`), CLOSE.unauthenticated),
        AUTH_WAIT_MS,
      );
    }
  }

  private setCredential(credential: string | undefined): void {
    this.credential = credential;
    this.credentialKey = credential ? this.deps.auth.cacheKey(credential) : undefined;
  }

  /**
   * The session's principal now: from the authenticator's cache (no await) when it can, else asks.
   * `trace`, for a call: when the auth plugin must be asked, its call joins the call's trace (the
   * call's span is reserved into trace.ownSpan).
   */
  private async principalNow(trace?: { incoming: string | undefined; ownSpan?: OwnSpan }): Promise<Principal> {
    const { auth } = this.deps;
    const known = auth.cached(this.credential, this.credentialKey);
    if (known) return known;
    if (!trace) return await auth.authenticate(this.credential, this.credentialKey);
    const t = traceOfRequest(this.deps.ctx.tracer, trace.incoming);
    trace.ownSpan = t.ownSpan;
    return await auth.authenticate(this.credential, this.credentialKey, t.traceparent);
  }

  private get log() {
    return this.deps.ctx.logger.child({ component: "ws" });
  }

  private ready(p: Principal): void {
    clearTimeout(this.authTimer);
    this.principal = p;
    this.cancelExpiry = atExpiry(p, () => this.fail(unauthenticated("expired"), CLOSE.unauthenticated));
    this.log.info({ session: this.init.id, cred: p.id, ip: this.init.ip }, `ws session ${this.init.id} opened by ${p.id}`);
    this.bootstrap(p).catch((e) => this.sendError(BkgError.from(e)));
  }

  private async bootstrap(p: Principal): Promise<void> {
    const may = (a: DaemonAction) => {
      try {
        authorizeAction(p, a);
        return true;
      } catch {
        return false;
      }
    };
    const plugins = may("bkg.plugins.list") ? this.deps.ctx.supervisor.list() : null;
    const telemetry = may("bkg.plugins.telemetry") ? await this.deps.telemetry.all() : null;
    this.send({ type: "bootstrap", payload: { principal: p, plugins, telemetry } });
  }

  private async onMessage(text: string): Promise<void> {
    let m: ClientMessage;
    try {
      m = parseClientMessage(text);
    } catch (e) {
      return this.sendError(BkgError.from(e));
    }
    if (!this.principal) {
      if (m.action !== "AUTH") return this.fail(new BkgError(ErrorCodes.Unauthenticated, 'authenticate first: {"action":"AUTH","token":"..."}'), CLOSE.unauthenticated);
      try {
        this.setCredential(m.token);
        const revocationsBefore = this.deps.auth.revocations;
        this.ready(await this.deps.auth.authenticate(m.token));
        if (this.deps.auth.revocations !== revocationsBefore) void this.recheck();
        return;
      } catch (e) {
        const err = BkgError.from(e);
        return this.fail(err, err.code === ErrorCodes.Unauthenticated ? CLOSE.unauthenticated : CLOSE.unavailable);
      }
    }
    try {
      if (m.action === "AUTH") throw new BkgError(ErrorCodes.InvalidRequest, "this session is already authenticated");
      if (m.action === "SUB") return this.subscribe(m.topic, m.plugin);
      if (m.action === "UNSUB") return this.unsubscribe(m.topic, m.plugin);
      if (m.action === "CANCEL") return void this.calls.get(m.id)?.abort();
      await this.call(m);
    } catch (e) {
      this.sendError(BkgError.from(e), "id" in m ? m.id : undefined);
    }
  }

  private subscribe(topic: WsTopic, plugin?: string): void {
    authorizeAction(this.principal!, TOPIC_ACTION[topic]);
    const key = `${topic}|${plugin ?? ""}`;
    if (this.subs.has(key)) return this.send({ type: "subscribed", payload: { topic, plugin: plugin ?? null } });
    if (topic === "telemetry") {
      const push = async () => this.send({ type: "telemetry", payload: plugin ? await this.deps.telemetry.plugin(plugin) : await this.deps.telemetry.all() });
      const timer = setInterval(() => void push().catch(() => undefined), TELEMETRY_EVERY_MS);
      this.subs.set(key, () => clearInterval(timer));
      this.send({ type: "subscribed", payload: { topic, plugin: plugin ?? null } });
      push().catch((e) => this.sendError(BkgError.from(e)));
      return;
    }
    this.send({ type: "subscribed", payload: { topic, plugin: plugin ?? null } });
    if (topic === "logs") {
      for (const line of this.recentLogs(plugin)) this.send({ type: "logs", payload: line, replay: true });
    }
    const off = this.deps.ctx.bus.subscribe({ topics: [BUS_TOPIC[topic]], plugin }, (e: BusEvent) => this.send({ type: topic, payload: e }));
    this.subs.set(key, off);
  }

  private recentLogs(plugin?: string): BusEvent[] {
    const sup = this.deps.ctx.supervisor;
    if (plugin) return sup.logs(plugin, LOG_REPLAY);
    const all = sup.list().flatMap((p) => sup.logs(p.name, LOG_REPLAY));
    return all.sort((a, b) => a.ts - b.ts).slice(-LOG_REPLAY);
  }

  private unsubscribe(topic: WsTopic, plugin?: string): void {
    const key = `${topic}|${plugin ?? ""}`;
    const off = this.subs.get(key);
    off?.();
    this.subs.delete(key);
    this.send({ type: "unsubscribed", payload: { topic, plugin: plugin ?? null, removed: Boolean(off) } });
  }

  private async call(m: Extract<ClientMessage, { action: "CALL" }>): Promise<void> {
    if (this.calls.has(m.id)) throw new BkgError(ErrorCodes.InvalidRequest, `a call with id ${JSON.stringify(m.id)} is still running; use a new id`);
    if (this.calls.size >= MAX_CALLS) throw new BkgError(ErrorCodes.Overloaded, `this session already has ${MAX_CALLS} calls running; wait for some to finish`);
    // Registered before the first await: a CANCEL read in the same chunk as its CALL must find it.
    const cancel = new CancelToken();
    this.calls.set(m.id, cancel);
    try {
      // Re-checked on every call (a cache hit normally): revocation and expiry apply at once.
      const trace: { incoming: string | undefined; ownSpan?: OwnSpan } = { incoming: m.traceparent };
      const p = await this.principalNow(trace);
      this.principal = p;
      authorizeCall(p, m.method, this.deps.auth.plugin, modelOf(m.params));
      const limited = this.deps.limiter.take(`cred:${p.id}`);
      if (limited) throw limited;
      this.callCount++;
      const result = await this.deps.ctx.router.call(m.method, stampAuthCall(p, m.method, m.params ?? {}, this.deps.auth.plugin), {
        caller: `ws:${p.id}`,
        timeoutMs: m.timeoutMs,
        traceparent: m.traceparent,
        ownSpan: trace.ownSpan,
        cancel,
        onProgress: (value) => this.send({ type: "progress", id: m.id, payload: value }),
        rawResult: true,
      });
      if (result instanceof RawJson) this.sendText(`{"type":"result","id":${JSON.stringify(m.id)},"payload":${result.text}}`);
      else this.send({ type: "result", id: m.id, payload: result });
    } finally {
      this.calls.delete(m.id);
    }
  }

  /** After a revocation: closes the session if its credential no longer passes. */
  async recheck(): Promise<void> {
    if (!this.principal || this.principal.type === "root") return;
    try {
      this.principal = await this.principalNow();
    } catch (e) {
      const err = BkgError.from(e);
      if (err.code === ErrorCodes.Unauthenticated) this.fail(err, CLOSE.unauthenticated);
    }
  }

  heartbeat(): void {
    if (!this.alive) return void this.ws.terminate();
    this.alive = false;
    this.ws.ping();
  }

  private send(msg: unknown): void {
    this.sendText(JSON.stringify(msg));
  }

  /** Sends a message already encoded as JSON. */
  private sendText(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.deps.ctx.config.http.ws.maxBufferedBytes) {
      this.log.warn(
        { session: this.init.id, ip: this.init.ip, waiting: this.ws.bufferedAmount, limit: "http.ws.maxBufferedBytes" },
        `closing ws session ${this.init.id}: it reads too slowly (over http.ws.maxBufferedBytes waiting)`,
      );
      return this.close(CLOSE.tooSlow, "the client reads too slowly; subscribe to less or read faster");
    }
    // Answers to many calls come back from the plugin in one chunk and are sent in one tick: cork
    // the socket at the first, uncork after the tick's microtasks, so they leave in one write.
    const socket = this.init.socket;
    if (socket && !this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(uncork, this);
    }
    this.ws.send(text);
  }

  private sendError(err: BkgError, id?: string | number): void {
    this.send({ type: "error", ...(id === undefined ? {} : { id }), error: errorBody(err).error });
  }

  private fail(err: BkgError, code: number): void {
    this.sendError(err);
    this.close(code, err.message.slice(0, 120));
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
    this.cleanup();
  }

  private cleanup(): void {
    clearTimeout(this.authTimer);
    this.cancelExpiry?.();
    for (const off of this.subs.values()) off();
    this.subs.clear();
    for (const cancel of this.calls.values()) cancel.abort();
    this.calls.clear();
    if (this.principal && !this.closedLogged) {
      this.closedLogged = true;
      this.log.info({ session: this.init.id, cred: this.principal.id, ms: Date.now() - this.openedAt, calls: this.callCount }, `ws session ${this.init.id} closed`);
    }
  }
  private closedLogged = false;
}
