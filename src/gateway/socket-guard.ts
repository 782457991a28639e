/**
 * The unix socket's connection limits (nginx's client_header_timeout / client_body_timeout /
 * limit_conn, in one place): how many clients at once, how long a frame may take to arrive,
 * how long a client may sit idle, how many bytes half-sent frames may hold across all clients,
 * and what happens to a client that stops reading its answers (pause reading it, then drop it).
 *
 * One sweep timer checks the time limits for every client, so the hot path pays only a counter
 * update per chunk read; the output marks are checked only when a write is not taken at once.
 */
import type { Socket } from "node:net";
import { ErrorCodes, encodeFrame, type RpcPeer } from "@bkg/protocol";
import type { SocketSettings } from "../config/index.js";
import type { Logger } from "../logs/index.js";
import { ThrottledWarn } from "./throttled-warn.js";

/** What the guard needs to know about one client. */
export interface GuardedClient {
  readonly name: string;
  readonly socket: Socket;
  readonly peer: RpcPeer;
  /** Open subscriptions: a client waiting for events is not idle. */
  subscriptions(): number;
}

interface State {
  client: GuardedClient;
  partial: number;
  lastRead: number;
  paused: boolean;
  dropping: boolean;
}

export class SocketGuard {
  private readonly states = new Map<Socket, State>();
  private partialTotal = 0;
  private readonly sweeper: NodeJS.Timeout;
  private readonly refusals: ThrottledWarn;

  constructor(
    readonly limits: SocketSettings,
    private readonly log: Logger,
  ) {
    this.refusals = new ThrottledWarn(log);
    const idle = limits.idleTimeoutMs > 0 ? limits.idleTimeoutMs : Number.POSITIVE_INFINITY;
    const every = Math.max(25, Math.min(1_000, Math.min(limits.frameTimeoutMs, idle) / 4));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  get size(): number {
    return this.states.size;
  }

  /** Bytes now held for incomplete frames, all clients together. */
  get partialBytes(): number {
    return this.partialTotal;
  }

  /**
   * Admits a new connection, or refuses it: sends a -33002 error frame, closes it and returns
   * false. Call first thing on accept.
   */
  admit(socket: Socket): boolean {
    if (this.states.size < this.limits.maxConnections) return true;
    const message = `the daemon already has ${this.limits.maxConnections} socket clients connected (socket.maxConnections); try again when one disconnects`;
    this.refusals.warn({ limit: "socket.maxConnections", max: this.limits.maxConnections }, `refused a socket client: ${message}`);
    socket.on("error", () => socket.destroy());
    socket.end(encodeFrame({ jsonrpc: "2.0", id: null, error: { code: ErrorCodes.Overloaded, message } }));
    destroyLater(socket);
    return false;
  }

  /** Starts watching an admitted client. Call after its peer listens (so reads are counted after parsing). */
  watch(client: GuardedClient): void {
    const state: State = { client, partial: 0, lastRead: Date.now(), paused: false, dropping: false };
    const { socket, peer } = client;
    this.states.set(socket, state);
    socket.on("data", () => {
      state.lastRead = Date.now();
      const held = peer.bufferedBytes;
      if (held === state.partial) return;
      this.partialTotal += held - state.partial;
      state.partial = held;
      if (this.partialTotal > this.limits.maxPartialBytes && held > 0) {
        this.drop(
          state,
          "socket.maxPartialBytes",
          `incomplete frames of all socket clients hold ${this.partialTotal} bytes, over socket.maxPartialBytes (${this.limits.maxPartialBytes}); this client's ${held} were the last straw`,
        );
      }
    });
    socket.once("close", () => {
      this.partialTotal -= state.partial;
      state.partial = 0;
      this.states.delete(socket);
    });
  }

  /** The peer's onBackpressure: `waiting` bytes of answers the client has not read yet. */
  backpressure(socket: Socket, waiting: number): void {
    const state = this.states.get(socket);
    if (!state || state.dropping) return;
    if (waiting > this.limits.outputDropBytes) {
      return this.drop(state, "socket.outputDropBytes", `${waiting} bytes of answers are waiting for the client to read them, over socket.outputDropBytes (${this.limits.outputDropBytes})`, false);
    }
    if (waiting > this.limits.outputPauseBytes && !state.paused) {
      state.paused = true;
      socket.pause();
      this.log.debug(
        { client: state.client.name, waiting, limit: "socket.outputPauseBytes" },
        `stopped reading from ${state.client.name}: ${waiting} bytes of answers wait for it to read (socket.outputPauseBytes ${this.limits.outputPauseBytes})`,
      );
      socket.once("drain", () => {
        state.paused = false;
        if (!state.dropping) socket.resume();
      });
    }
  }

  private sweep(): void {
    const now = Date.now();
    const { frameTimeoutMs, idleTimeoutMs } = this.limits;
    for (const state of this.states.values()) {
      if (state.dropping) continue;
      const { peer } = state.client;
      const since = peer.partialSince;
      if (since > 0 && now - since > frameTimeoutMs) {
        this.drop(state, "socket.frameTimeoutMs", `a frame begun ${now - since} ms ago is still incomplete (${peer.bufferedBytes} bytes so far; socket.frameTimeoutMs is ${frameTimeoutMs})`);
      } else if (idleTimeoutMs > 0 && now - state.lastRead > idleTimeoutMs && since === 0 && !state.paused && peer.inFlight === 0 && state.client.subscriptions() === 0) {
        this.drop(state, "socket.idleTimeoutMs", `idle for ${now - state.lastRead} ms with nothing in flight and no subscription (socket.idleTimeoutMs is ${idleTimeoutMs})`, true, "info");
      }
    }
  }

  /**
   * Closes a client with a log line naming the limit. It is sent a JSON-RPC error (id null)
   * first unless it is not reading anyway (`tell` false).
   */
  private drop(state: State, limit: string, why: string, tell = true, level: "warn" | "info" = "warn"): void {
    state.dropping = true;
    const { name, socket, peer } = state.client;
    this.log[level]({ client: name, limit }, `closed socket client ${name}: ${why}`);
    socket.pause();
    if (!tell) return void socket.destroy();
    peer.writeRaw({ jsonrpc: "2.0", id: null, error: { code: limit === "socket.idleTimeoutMs" ? ErrorCodes.RequestCancelled : ErrorCodes.ParseError, message: `closing the connection: ${why}` } });
    peer.flush();
    socket.end();
    destroyLater(socket);
  }

  /** Stops the sweep. Idempotent. */
  close(): void {
    clearInterval(this.sweeper);
  }
}

/** end() waits for the client to read; one that does not is destroyed after a moment. */
function destroyLater(socket: Socket): void {
  setTimeout(() => socket.destroy(), 1_000).unref();
}
