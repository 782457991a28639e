/**
 * The JSON-RPC unix socket: the same framing plugins speak. Clients call `plugin.method`
 * directly and the control methods (`bkg.*`); `bkg.subscribe` streams events as `bkg/event`
 * notifications. Trust comes from the socket's file mode (0600). What one client can make the
 * daemon hold is bounded by socket-guard.ts (connections, frame size and time, idle time,
 * half-sent frames, answers it does not read); the settings are `socket.*` in the config.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import { BkgError, ErrorCodes, Methods, RawJson, RpcError, RpcPeer, type CallMeta, type CancelToken } from "@bkg/protocol";
import type { Topic } from "../events/index.js";
import { findControlMethod } from "./control-api.js";
import type { DaemonContext } from "./daemon-context.js";
import { SocketGuard } from "./socket-guard.js";
import { isAlive } from "./socket-probe.js";

/** Client-side `_meta`: what a socket client may ask for on a call. */
interface ClientMeta extends Pick<CallMeta, "progressToken" | "traceparent" | "deadline"> {
  timeoutMs?: number;
}

const TOPICS: Topic[] = ["lifecycle", "log", "plugin", "audit", "model"];

export class SocketServer {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private clientSeq = 0;
  private readonly guard: SocketGuard;

  /** ctx.loaded has resolved (no context promise means nothing to wait for). */
  private loaded: boolean;

  constructor(private readonly ctx: DaemonContext) {
    this.guard = new SocketGuard(ctx.config.socket, ctx.logger.child({ component: "socket" }));
    this.loaded = ctx.loaded === undefined;
    ctx.loaded?.then(() => {
      this.loaded = true;
    });
  }

  /**
   * Listens on the configured path with mode 0600. A stale socket file (no daemon answering)
   * is removed; a live one is an error naming it.
   */
  async listen(): Promise<void> {
    const path = this.ctx.config.socketPath;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    if (existsSync(path)) {
      if (await isAlive(path)) throw new BkgError(ErrorCodes.InternalError, `another bkg daemon is already listening on ${path}`);
      unlinkSync(path);
    }
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      const old = process.umask(0o177);
      server.listen(path, () => {
        process.umask(old);
        server.off("error", reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
  }

  async close(): Promise<void> {
    this.guard.close();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    try {
      unlinkSync(this.ctx.config.socketPath);
    } catch {
      /* already gone */
    }
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    if (!this.guard.admit(socket)) return;
    const client = `client:${++this.clientSeq}`;
    socket.on("error", () => socket.destroy());
    const connection: RpcPeer = new RpcPeer(socket, socket, {
      maxMessageBytes: this.ctx.config.socket.maxFrameBytes,
      maxDepth: this.ctx.config.limits.jsonDepth,
      // A plugin call's params and result pass through as text (RawJson) when they can.
      rawParams: true,
      onBackpressure: (waiting) => this.guard.backpressure(socket, waiting),
      accept: (msg) => {
        const problem = invalidRequest(msg);
        if (!problem) return true;
        const id = msg && typeof msg === "object" && "id" in msg ? (msg as { id: unknown }).id : null;
        connection.writeRaw({ jsonrpc: "2.0", id: typeof id === "string" || typeof id === "number" ? id : null, error: { code: ErrorCodes.InvalidRequest, message: problem } });
        return false;
      },
      onFramingError: (err) => {
        connection.writeRaw({ jsonrpc: "2.0", id: null, error: { code: ErrorCodes.ParseError, message: `parse error: ${err.message}` } });
        if (err.fatal) {
          connection.flush();
          socket.end();
        }
      },
    });

    const subs = new Map<number, () => void>();
    let subSeq = 0;
    connection.onRequest("bkg.subscribe", (p: { topics?: unknown; plugin?: unknown } | undefined) => {
      if (p?.topics !== undefined && (!Array.isArray(p.topics) || !p.topics.every((t) => typeof t === "string"))) {
        throw new RpcError(ErrorCodes.InvalidParams, `"topics" must be an array of topic names (lifecycle, log, plugin, audit, model), got ${JSON.stringify(p.topics)?.slice(0, 80)}`);
      }
      if (p?.plugin !== undefined && typeof p.plugin !== "string") throw new RpcError(ErrorCodes.InvalidParams, '"plugin" must be a plugin name');
      const topics = ((p?.topics as string[] | undefined) ?? TOPICS.filter((t) => t !== "model")).map((t) => (t === "logs" ? "log" : t === "events" ? "plugin" : t));
      const bad = topics.filter((t) => !TOPICS.includes(t as Topic));
      if (bad.length) throw new RpcError(ErrorCodes.InvalidParams, `unknown topic(s) ${bad.join(", ")}; topics are: lifecycle, log (logs), plugin (events), audit, model (model pulls)`);
      const id = ++subSeq;
      subs.set(
        id,
        this.ctx.bus.subscribe({ topics: topics as Topic[], plugin: p?.plugin as string | undefined }, (event) => connection.notify("bkg/event", { subscription: id, event })),
      );
      return { subscription: id, topics };
    });
    connection.onRequest("bkg.unsubscribe", (p: { subscription?: number }) => {
      const off = subs.get(Number(p?.subscription));
      off?.();
      return { removed: Boolean(off && subs.delete(Number(p?.subscription))) };
    });
    connection.onRequest("bkg.shutdown", () => {
      setImmediate(() => void this.ctx.shutdown(`requested by ${client}`));
      return { stopping: true, pid: process.pid };
    });
    const serve = async (method: string, params: unknown, token: CancelToken) => {
      try {
        await this.ctx.loaded;
        const control = findControlMethod(method);
        if (control) return await control(this.ctx, ((params instanceof RawJson ? params.value() : params) ?? {}) as Record<string, unknown>, "socket");
        return await this.route(connection, client, method, params, token);
      } catch (e) {
        const err = BkgError.from(e);
        throw new RpcError(err.code, err.message, err.data);
      }
    };
    connection.onAnyRequest((method: string, params: unknown, rctx) => {
      // A plugin call once the daemon has loaded skips the async wrapper above (a promise and a
      // turn per call): the router rejects only with BkgErrors, which the peer answers with
      // their code, message and data as they are.
      if (this.loaded && !findControlMethod(method)) return this.route(connection, client, method, params, rctx.token);
      return serve(method, params, rctx.token);
    });
    connection.onClose(() => {
      for (const off of subs.values()) off();
      subs.clear();
    });
    connection.listen();
    this.guard.watch({ name: client, socket, peer: connection, subscriptions: () => subs.size });
  }

  private route(connection: RpcPeer, client: string, method: string, params: unknown, cancel: CancelToken) {
    let meta: ClientMeta = {};
    // RawJson params have no _meta member (RpcPeer.takeRaw).
    if (params && typeof params === "object" && !Array.isArray(params) && !(params instanceof RawJson) && "_meta" in params) {
      const { _meta, ...rest } = params as { _meta?: ClientMeta };
      meta = _meta ?? {};
      params = rest;
    }
    const progressToken = meta.progressToken;
    return this.ctx.router.call(method, params, {
      caller: client,
      timeoutMs: typeof meta.timeoutMs === "number" ? meta.timeoutMs : undefined,
      deadline: typeof meta.deadline === "number" ? meta.deadline : undefined,
      traceparent: meta.traceparent,
      cancel,
      onProgress: progressToken === undefined ? undefined : (value) => connection.notify(Methods.progress, { token: progressToken, value }),
      rawResult: true,
    });
  }
}

/** Why a parsed message is not a JSON-RPC 2.0 message, or undefined if it is one. */
function invalidRequest(msg: unknown): string | undefined {
  if (!msg || typeof msg !== "object" || Array.isArray(msg)) return "invalid request: a JSON-RPC 2.0 message must be a JSON object (batches are not supported)";
  const m = msg as Record<string, unknown>;
  if (m.jsonrpc !== "2.0") return 'invalid request: "jsonrpc" must be "2.0"';
  if ("method" in m && typeof m.method !== "string") return 'invalid request: "method" must be a string';
  if (!("method" in m) && !("result" in m) && !("error" in m)) return 'invalid request: a message needs "method" (or "result"/"error" for a response)';
  if ("id" in m && m.id !== null && typeof m.id !== "string" && typeof m.id !== "number") return 'invalid request: "id" must be a string or a number';
  if ("params" in m && m.params !== null && typeof m.params !== "object") return 'invalid request: "params" must be an object or an array';
  return undefined;
}
