import { Injectable, inject, signal, untracked } from "@angular/core";
import { Router } from "@angular/router";
import { AuthService } from "./auth.service";

export type LinkState = "idle" | "connecting" | "open" | "reconnecting";
type Topic = "status" | "logs" | "telemetry" | "events" | "models";
type Listener = (msg: ServerMessage) => void;

export interface ServerMessage {
  type: string;
  id?: string | number;
  payload?: any;
  error?: { code: number; name?: string; message: string };
  replay?: boolean;
}

export interface CallHandlers {
  progress(value: unknown): void;
  result(value: unknown): void;
  error(e: { code: number; message: string }): void;
}

/**
 * The one WebSocket (/ws/plugins) of this tab: authenticates with the tab's credential, keeps the
 * topics the pages want, and reconnects when the daemon restarts (re-subscribing and saying so).
 * Pages subscribe with `watch(topic, plugin, listener)`, which returns its own unsubscribe.
 */
@Injectable({ providedIn: "root" })
export class LiveService {
  private readonly auth = inject(AuthService);
  private readonly router = inject(Router);
  readonly state = signal<LinkState>("idle");
  /** Set when the link came back after a drop, for the "reconnected" notice. */
  readonly reconnectedAt = signal<number | null>(null);
  readonly lastBootstrap = signal<any>(null);

  private ws: WebSocket | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private attempts = 0;
  private wasOpen = false;
  private readonly wants = new Map<string, { topic: Topic; plugin?: string; listeners: Set<Listener> }>();
  private readonly calls = new Map<string | number, CallHandlers>();
  private readonly anyListeners = new Set<Listener>();
  private nextId = 1;

  start(): void {
    if (this.ws || !this.auth.token()) return;
    this.open();
  }

  stop(): void {
    clearTimeout(this.retryTimer);
    this.wasOpen = false;
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
    this.state.set("idle");
  }

  /** Listens to one topic (optionally one plugin's); the returned function stops listening. */
  watch(topic: Topic, plugin: string | undefined, listener: Listener): () => void {
    const key = `${topic}|${plugin ?? ""}`;
    let w = this.wants.get(key);
    if (!w) {
      w = { topic, plugin, listeners: new Set() };
      this.wants.set(key, w);
      this.send({ action: "SUB", topic, plugin });
    }
    w.listeners.add(listener);
    return () => {
      const cur = this.wants.get(key);
      if (!cur) return;
      cur.listeners.delete(listener);
      if (cur.listeners.size === 0) {
        this.wants.delete(key);
        this.send({ action: "UNSUB", topic, plugin });
      }
    };
  }

  /** Every message (the overview listens to bootstrap and status). */
  onAny(listener: Listener): () => void {
    this.anyListeners.add(listener);
    return () => this.anyListeners.delete(listener);
  }

  /** Starts a streaming call over the socket (with a deadline and a W3C traceparent if given); the returned function cancels it. */
  call(method: string, params: unknown, handlers: CallHandlers, opts: { timeoutMs?: number; traceparent?: string } = {}): () => void {
    const { timeoutMs, traceparent } = opts;
    const id = `c${this.nextId++}`;
    if (untracked(this.state) !== "open") {
      handlers.error({ code: -33000, message: "not connected to the daemon; wait for the connection to come back and try again" });
      return () => undefined;
    }
    this.calls.set(id, handlers);
    this.send({ action: "CALL", id, method, params, ...(timeoutMs ? { timeoutMs } : {}), ...(traceparent ? { traceparent } : {}) });
    return () => {
      if (this.calls.has(id)) this.send({ action: "CANCEL", id });
    };
  }

  private open(): void {
    const token = this.auth.token();
    if (!token) return;
    this.state.set(this.wasOpen ? "reconnecting" : "connecting");
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/plugins`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ action: "AUTH", token }));
    ws.onmessage = (ev) => this.onMessage(JSON.parse(String(ev.data)) as ServerMessage);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      for (const [, h] of this.calls) h.error({ code: -33000, message: "the connection to the daemon was lost during the call" });
      this.calls.clear();
      if (ev.code === 4401) {
        this.stop();
        this.auth.clear(`Signed out: ${ev.reason || "the credential is no longer valid"}. Sign in again.`);
        void this.router.navigate(["/login"]);
        return;
      }
      this.state.set(this.wasOpen ? "reconnecting" : "connecting");
      // Back off up to 5 s: a restarting daemon is usually back within a second or two.
      const delay = Math.min(5000, 500 * 2 ** this.attempts++);
      this.retryTimer = setTimeout(() => this.open(), delay);
    };
  }

  private onMessage(m: ServerMessage): void {
    if (m.type === "bootstrap") {
      if (this.wasOpen) this.reconnectedAt.set(Date.now());
      this.wasOpen = true;
      this.attempts = 0;
      this.state.set("open");
      this.lastBootstrap.set(m.payload);
      for (const w of this.wants.values()) this.send({ action: "SUB", topic: w.topic, plugin: w.plugin });
    } else if (m.id !== undefined && this.calls.has(m.id)) {
      const h = this.calls.get(m.id)!;
      if (m.type === "progress") h.progress(m.payload);
      else {
        this.calls.delete(m.id);
        if (m.type === "result") h.result(m.payload);
        else h.error(m.error ?? { code: -32603, message: "unknown error" });
      }
      return;
    } else if (m.type === "status" || m.type === "logs" || m.type === "telemetry" || m.type === "events" || m.type === "models") {
      for (const w of this.wants.values()) {
        if (w.topic === m.type && matches(w.plugin, m)) w.listeners.forEach((l) => l(m));
      }
    }
    this.anyListeners.forEach((l) => l(m));
  }

  /** Untracked: pages call watch() inside effects, which must not re-run when the link state changes. */
  private send(msg: unknown): void {
    if (this.ws?.readyState === WebSocket.OPEN && untracked(this.state) === "open") this.ws.send(JSON.stringify(msg));
  }
}

/** Whether a message belongs to a subscription: telemetry for all plugins has `plugins`, for one its `name`. */
function matches(plugin: string | undefined, m: ServerMessage): boolean {
  if (m.type === "telemetry") return plugin ? m.payload?.name === plugin : Array.isArray(m.payload?.plugins);
  return !plugin || m.payload?.plugin === plugin;
}
