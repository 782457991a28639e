/**
 * The typed TypeScript client: `import { connect } from "bkg"`. Speaks the same framing as
 * plugins over the daemon's unix socket.
 */
import { createConnection } from "node:net";
import { BkgError, ErrorCodes, Methods, RpcPeer } from "@bkg/protocol";
import type { BusEvent, Topic } from "../events/index.js";
import type { PluginInfo, PluginSummary } from "../supervisor/index.js";
import type { StoredEvent } from "../store/index.js";
import type { ModelRecord, PullStatus } from "../models/index.js";
import type { ClusterNode, LiveSnapshot, StatsReport } from "../telemetry/index.js";
import type { ClusterBusStatus, ClusterPluginRow } from "../cluster/index.js";
import type { TraceSummary, TraceView } from "../tracing/index.js";

/** Times are epoch ms, ISO times, or durations back from now ("15m", "1h", "7d"). */
/** A catalog entry as bkg.models.list gives it. */
export interface CatalogListing {
  name: string;
  format: string;
  description: string;
  licence: string;
  size: number;
  pulled: boolean;
}

export interface EventsQuery {
  plugin?: string;
  since?: number | string;
  until?: number | string;
  /** Some of: lifecycle, call-error, audit, plugin, daemon (an array or comma-separated). */
  kinds?: string[] | string;
  node?: string;
  limit?: number;
}

export interface ConnectOptions {
  /** The daemon's socket; see resolveSocketPath in the CLI for how the default is found. */
  socketPath: string;
  /** How long to wait for the socket to accept, ms (default 2000). */
  connectTimeoutMs?: number;
}

export interface CallOptions {
  /** Relative deadline for the call, ms. The plugin's manifest default applies otherwise. */
  timeoutMs?: number;
  /** Aborting cancels the call (the plugin gets $/cancelRequest). */
  signal?: AbortSignal;
  /** Streamed values, in order, for streaming methods. */
  onProgress?: (value: unknown) => void;
  traceparent?: string;
}

export interface DaemonStatus {
  version: string;
  pid: number;
  uptimeMs: number;
  startedAt: string;
  socketPath: string;
  manifestsDir: string;
  dataDir: string;
  configFile: string | null;
  rssBytes: number;
  plugins: { total: number; byState: Record<string, number> };
  /** Where the HTTP control API listens (null when http.enabled is false). */
  /** `tls` when http.tls is set: the certificate serving, and why the files on disk are not (reloadError), if they are not. */
  http?: { host: string; port: number; url: string; ws: string; tls?: { certFile: string; subject: string; notAfter: string; mutual: boolean; loadedAt: string; reloadError?: string } } | null;
  /** Where gRPC bkg.v1.Bus listens (null unless grpc.enabled). */
  grpc?: { host: string; port: number; address: string } | null;
}

/** Options of start, stop, restart and reload. */
export interface ControlOptions {
  /** Answer once the plugin has settled (ready, stopped, failed...) instead of at once. */
  wait?: boolean;
  /** How long to wait at most (default 60 s); then the answer has `settled: false`. */
  timeoutMs?: number;
}

/** What a start, stop, restart or reload came to. */
export interface ControlOutcome {
  name: string;
  state: string;
  reason?: string;
  settled: boolean;
  /** Whether the plugin reached what was asked (ready or idle after a start, stopped after a stop). */
  ok: boolean;
}

export interface SubscribeOptions {
  topics?: (Topic | "logs" | "events")[];
  plugin?: string;
}

let progressSeq = 0;

export class BkgClient {
  private readonly progress = new Map<string, (v: unknown) => void>();
  private readonly subscribers = new Map<number, (e: BusEvent) => void>();
  private closed = false;

  constructor(
    private readonly connection: RpcPeer,
    private readonly socket?: { destroy(): void },
  ) {
    connection.onNotification(Methods.progress, (p: { token?: unknown; value?: unknown }) => this.progress.get(String(p?.token))?.(p?.value));
    connection.onNotification("bkg/event", (p: { subscription: number; event: BusEvent }) => this.subscribers.get(p.subscription)?.(p.event));
  }

  /** Calls `plugin.method`. Rejects with a BkgError carrying the wire code. */
  async call<T = unknown>(target: string, params: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<T> {
    const meta: Record<string, unknown> = {};
    if (opts.timeoutMs !== undefined) meta.timeoutMs = opts.timeoutMs;
    if (opts.traceparent) meta.traceparent = opts.traceparent;
    let token: string | undefined;
    if (opts.onProgress) {
      token = `p${++progressSeq}`;
      meta.progressToken = token;
      this.progress.set(token, opts.onProgress);
    }
    try {
      return (await this.request(target, Object.keys(meta).length ? { ...params, _meta: meta } : params, opts.signal)) as T;
    } finally {
      if (token) this.progress.delete(token);
    }
  }

  status(): Promise<DaemonStatus> {
    return this.request("bkg.status", {}) as Promise<DaemonStatus>;
  }

  readonly plugins = {
    list: () => this.request("bkg.plugins.list", {}) as Promise<PluginSummary[]>,
    /** One plugin's details; the manifest's env values and secret config are redacted unless `secrets` is true. */
    info: (name: string, opts: { secrets?: boolean } = {}) => this.request("bkg.plugins.info", { name, ...(opts.secrets ? { secrets: true } : {}) }) as Promise<PluginInfo>,
    /** Starts a plugin; with `wait` the answer comes once it has settled and `ok` says whether it is ready. */
    start: (name: string, opts: ControlOptions = {}) => this.request("bkg.plugins.start", { name, ...opts }) as Promise<ControlOutcome>,
    stop: (name: string, opts: ControlOptions = {}) => this.request("bkg.plugins.stop", { name, ...opts }) as Promise<ControlOutcome>,
    /** Stops, then starts the plugin (new processes, the same manifest). */
    restart: (name: string, opts: ControlOptions = {}) => this.request("bkg.plugins.restart", { name, ...opts }) as Promise<ControlOutcome>,
    /** Hot-swaps the plugin; `ok` is false (and `swapFailure` says why) when the old version kept serving. */
    reload: (name: string, opts: ControlOptions = {}) => this.request("bkg.plugins.reload", { name, ...opts }) as Promise<ControlOutcome & { version: string; previous: string; swapFailure?: string }>,
    logs: (name: string, limit?: number) => this.request("bkg.plugins.logs", { name, limit }) as Promise<BusEvent[]>,
  };

  /** The model store (docs/models.md); the answers are the control methods' (models-api.ts). */
  readonly models = {
    list: () => this.request("bkg.models.list", {}) as Promise<{ dir: string; models: ModelRecord[]; catalog: CatalogListing[]; pulls: PullStatus[] }>,
    info: (name: string) => this.request("bkg.models.info", { name }) as Promise<ModelRecord>,
    /** Starts a pull (or, with wait, resolves when it ends); progress comes as "model" events (subscribe). */
    pull: (params: { model: string; name?: string; sha256?: string; licence?: string; force?: boolean; wait?: boolean }) => this.request("bkg.models.pull", params) as Promise<PullStatus>,
    pullStatus: (pullId: string) => this.request("bkg.models.pullStatus", { pullId }) as Promise<PullStatus>,
    rm: (name: string) => this.request("bkg.models.rm", { name }) as Promise<{ name: string; removed: true; size: number }>,
    verify: (name: string) => this.request("bkg.models.verify", { name }) as Promise<{ name: string; ok: boolean; problems: { file: string; problem: string }[] }>,
  };

  /** Stored events (lifecycle, call errors, audit, plugin events, daemon notes), oldest first. */
  events(q: EventsQuery = {}): Promise<StoredEvent[]> {
    return this.request("bkg.events.query", q) as Promise<StoredEvent[]>;
  }

  readonly telemetry = {
    /** What `bkg top` shows: every plugin with its rates, latency, errors, RSS and CPU. */
    live: () => this.request("bkg.telemetry.live", {}) as Promise<LiveSnapshot>,
    /** Per-method and per-instance summaries of the stored rollups (default: the last hour). */
    stats: (q: { plugin?: string; since?: number | string; until?: number | string; node?: string } = {}) => this.request("bkg.telemetry.stats", q) as Promise<StatsReport>,
  };

  readonly traces = {
    /** The daemon's recent traces, the most recently active first (default 50). */
    list: (limit?: number) => this.request("bkg.traces.list", limit === undefined ? {} : { limit }) as Promise<{ traces: TraceSummary[] }>,
    /** One trace's spans in start order; -32601 when the daemon keeps no such trace. */
    get: (traceId: string) => this.request("bkg.traces.get", { traceId }) as Promise<TraceView>,
  };

  readonly cluster = {
    /** Every daemon writing to the same store, this one first. */
    nodes: () => this.request("bkg.cluster.nodes", {}) as Promise<ClusterNode[]>,
    /** Every plugin of every node on the cluster bus (cluster mode), this node's first. */
    plugins: () => this.request("bkg.cluster.plugins", {}) as Promise<ClusterPluginRow[]>,
    /** This node's NATS connection and the nodes it hears from (cluster mode). */
    bus: () => this.request("bkg.cluster.bus", {}) as Promise<ClusterBusStatus>,
  };

  /** Streams daemon events to `handler` until the returned function is called. */
  async subscribe(opts: SubscribeOptions, handler: (e: BusEvent) => void): Promise<() => Promise<void>> {
    const { subscription } = (await this.request("bkg.subscribe", opts)) as { subscription: number };
    this.subscribers.set(subscription, handler);
    return async () => {
      this.subscribers.delete(subscription);
      if (!this.closed) await this.request("bkg.unsubscribe", { subscription });
    };
  }

  /** Asks the daemon to stop gracefully. */
  shutdown(): Promise<{ stopping: boolean; pid: number }> {
    return this.request("bkg.shutdown", {}) as Promise<{ stopping: boolean; pid: number }>;
  }

  /** Closes the connection; pending calls reject. Idempotent. */
  close(): void {
    this.closed = true;
    this.connection.dispose();
    this.socket?.destroy();
  }

  onClose(fn: () => void): void {
    this.connection.onClose(fn);
  }

  private async request(method: string, params: unknown, signal?: AbortSignal): Promise<unknown> {
    try {
      return await this.connection.request(method, params, signal);
    } catch (e) {
      throw BkgError.from(e);
    }
  }
}

/** Connects to a running daemon. Rejects with a BkgError (data.reason "not-running") when none answers. */
export function connect(options: ConnectOptions): Promise<BkgClient> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(options.socketPath);
    const timer = setTimeout(() => fail(new Error("timed out")), options.connectTimeoutMs ?? 2000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new BkgError(ErrorCodes.PluginUnavailable, `no bkg daemon is running at ${options.socketPath} (${(e as NodeJS.ErrnoException).code ?? e.message}); start one with: bkg daemon start`, {
          reason: "not-running",
          socketPath: options.socketPath,
        }),
      );
    };
    socket.once("error", fail);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", fail);
      socket.on("error", () => undefined);
      resolve(new BkgClient(new RpcPeer(socket, socket).listen(), socket));
    });
  });
}
