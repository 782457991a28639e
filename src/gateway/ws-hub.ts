/**
 * The WebSocket endpoint /ws/plugins, on the HTTP server's port (ws, noServer mode). The upgrade
 * is checked before the handshake completes: path (404), Origin (403 unless same-origin or in
 * http.cors.origins), a credential in the headers if one was sent (401/503), the rate limit (429).
 * Without a header credential the session must send {"action": "AUTH", "token"} first.
 * When the auth plugin revokes anything, every session re-checks its credential at once and
 * those that no longer pass are closed with 4401. The protocol is in ws-messages.ts.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { BkgError, ErrorCodes } from "@bkg/protocol";
import { credentialFromHeaders, type Principal } from "../auth/index.js";
import { errorBody, statusOf } from "./http-errors.js";
import type { SurfaceDeps } from "./surface-deps.js";
import { ThrottledWarn } from "./throttled-warn.js";
import { WsSession } from "./ws-session.js";

export const WS_PATH = "/ws/plugins";

export class WsHub {
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<WsSession>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly offRevoked: () => void;
  private seq = 0;
  /** Upgrades being authenticated: counted against the cap, so a burst cannot pass it while they await. */
  private upgrading = 0;
  private readonly refusals: ThrottledWarn;

  constructor(private readonly deps: SurfaceDeps) {
    const ws = deps.ctx.config.http.ws;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: ws.maxPayloadBytes });
    this.heartbeat = setInterval(() => {
      for (const s of this.sessions) s.heartbeat();
    }, ws.pingIntervalMs);
    this.heartbeat.unref();
    this.refusals = new ThrottledWarn(deps.ctx.logger.child({ component: "ws" }));
    this.offRevoked = deps.auth.onRevoked(() => {
      for (const s of this.sessions) void s.recheck();
    });
  }

  get size(): number {
    return this.sessions.size;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    void this.upgrade(req, socket, head).catch((e) => reject(socket, BkgError.from(e)));
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== WS_PATH) return reject(socket, new BkgError(ErrorCodes.MethodNotFound, `no WebSocket endpoint at ${path}; use ${WS_PATH}`));
    if (this.sessions.size + this.upgrading >= this.deps.ctx.config.http.ws.maxConnections) {
      const max = this.deps.ctx.config.http.ws.maxConnections;
      this.refusals.warn({ limit: "http.ws.maxConnections", max, ip: req.socket.remoteAddress }, `refused a WebSocket session: ${max} are open (http.ws.maxConnections)`);
      return reject(socket, new BkgError(ErrorCodes.Overloaded, `the daemon already has ${max} WebSocket sessions open (http.ws.maxConnections); try again later`), 503);
    }
    this.upgrading++;
    try {
      await this.authorizeUpgrade(req, socket, head);
    } finally {
      this.upgrading--;
    }
  }

  private async authorizeUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { auth, limiter } = this.deps;
    const origin = req.headers.origin;
    if (origin && !this.originAllowed(origin, req.headers.host)) {
      return reject(socket, new BkgError(ErrorCodes.PermissionDenied, `origin ${origin} is not allowed; add it to http.cors.origins`), 403);
    }
    const ip = req.socket.remoteAddress ?? "unknown";
    const credential = credentialFromHeaders(req.headers);
    const revocationsBefore = auth.revocations;
    let principal: Principal | undefined;
    if (credential !== undefined) {
      try {
        principal = await auth.authenticate(credential);
      } catch (e) {
        const limited = limiter.take(`ip:${ip}`);
        return reject(socket, limited ?? BkgError.from(e));
      }
    }
    const limited = limiter.take(principal ? `cred:${principal.id}` : `ip:${ip}`);
    if (limited) return reject(socket, limited);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new WsSession(ws, this.deps, { id: ++this.seq, ip, principal, credential, socket });
      this.sessions.add(session);
      // A revocation while this upgrade authenticated found no session to re-check: check it now.
      if (auth.revocations !== revocationsBefore) void session.recheck();
      this.deps.metrics.wsConnections(1);
      ws.once("close", () => {
        this.sessions.delete(session);
        this.deps.metrics.wsConnections(-1);
      });
    });
  }

  private originAllowed(origin: string, host: string | undefined): boolean {
    if (this.deps.ctx.config.http.cors.origins.includes(origin)) return true;
    try {
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  }

  /** Closes every session (1001, the daemon is stopping). */
  close(): void {
    clearInterval(this.heartbeat);
    this.offRevoked();
    for (const s of this.sessions) s.close(1001, "the daemon is stopping");
    this.wss.close();
  }
}

/** Answers an upgrade request with an HTTP error and the usual JSON body, then drops the socket. */
function reject(socket: Duplex, err: BkgError, status = statusOf(err.code)): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(errorBody(err));
  const retry = (err.data as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? "Unauthorized" : status === 403 ? "Forbidden" : status === 404 ? "Not Found" : status === 429 ? "Too Many Requests" : status === 503 ? "Service Unavailable" : "Error"}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      (retry !== undefined ? `Retry-After: ${retry}\r\n` : "") +
      `Connection: close\r\n\r\n${body}`,
  );
}
