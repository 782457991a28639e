import type { Problem } from "../validation/schemas.js";

export type LogLevelSetting = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
export type RestartPolicyName = "always" | "on-failure" | "never";

export interface TimeoutSettings {
  start: number;
  call: number;
  shutdown: number;
  kill: number;
  drain: number;
}

export interface RestartSettings {
  policy: RestartPolicyName;
  backoff: { initialMs: number; factor: number; maxMs: number; jitter: number };
  maxRestarts: number;
  windowMs: number;
  stableMs: number;
}

export interface HealthSettings {
  intervalMs: number;
  timeoutMs: number;
  misses: number;
}

/** The HTTP and WebSocket control surface (docs/http.md). */
export interface HttpSettings {
  enabled: boolean;
  host: string;
  /** 0 picks a free port; the bound port is logged and shown by bkg.status. */
  port: number;
  /** Largest request body, bytes; larger bodies get 413. */
  bodyLimit: number;
  /** Origins allowed by CORS (exact, e.g. "https://ops.example.com"); empty: no CORS headers. */
  cors: { origins: string[] };
  /** Requests a window per credential, and per client IP for requests without a valid one; 0 turns a limit off. */
  rateLimit: { perCredential: number; perIp: number; windowMs: number };
  /** Read-only routes served without a credential, as "GET /path" (the route as /openapi.json names it). */
  publicRoutes: string[];
  /** One pino line per request: id, credential id, route, status, latency. */
  accessLog: boolean;
  /** Serve the web dashboard (dashboard/dist/browser) at / with deep links falling back to its index.html. */
  dashboard: boolean;
  /** Open TCP connections at once (WebSocket sessions included); further ones are closed on accept. 0: no cap. */
  maxConnections: number;
  /** Time for a client to send a request's headers, ms (slowloris). */
  headersTimeoutMs: number;
  /** Time for a client to send a whole request, headers and body, ms (slow bodies get 408 and are closed). 0: none. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept between requests, ms. */
  keepAliveTimeoutMs: number;
  /** HTTPS and WSS with these files (absolute once loaded), re-read when they change. */
  tls?: TlsFiles;
  ws: WsSettings;
}

/** The WebSocket endpoint /ws/plugins. */
export interface WsSettings {
  /** Sessions open at once; further upgrades are answered 503. */
  maxConnections: number;
  /** Largest message a client may send, bytes; larger ones close the session with 1009. */
  maxPayloadBytes: number;
  /** Bytes waiting for a session that reads too slowly before it is closed with 1013. */
  maxBufferedBytes: number;
  /** A ping every this many ms; a session that has not answered the previous one is closed. */
  pingIntervalMs: number;
}

/** The JSON-RPC unix socket (docs/config.md, "Connection limits"). */
export interface SocketSettings {
  /** Clients connected at once; a further one is sent a -33002 error frame and closed. */
  maxConnections: number;
  /** Largest frame a client may send, bytes (the plugin channel's limit is limits.maxMessageBytes). */
  maxFrameBytes: number;
  /** A frame begun but not completed within this many ms closes the connection. */
  frameTimeoutMs: number;
  /** A client with nothing in flight, no subscription and no traffic for this many ms is closed. 0: never. */
  idleTimeoutMs: number;
  /** Bytes held for incomplete frames across all clients; the client that would pass it is closed. */
  maxPartialBytes: number;
  /** Answers waiting for a client that does not read, bytes, above which its further requests are not read. */
  outputPauseBytes: number;
  /** Answers waiting for a client that does not read, bytes, above which it is disconnected. */
  outputDropBytes: number;
}

/** gRPC server limits (docs/config.md). */
export interface GrpcLimits {
  maxReceiveMessageBytes: number;
  maxSendMessageBytes: number;
  /** HTTP/2 streams (RPCs) at once per connection. */
  maxConcurrentStreams: number;
  /** The server pings a connection after this much silence, ms ... */
  keepaliveTimeMs: number;
  /** ... and closes it when the ping is not answered within this many ms. */
  keepaliveTimeoutMs: number;
  /** A connection with no RPC for this many ms is closed (GOAWAY). */
  maxConnectionIdleMs: number;
}

/** gRPC over TLS: absolute paths after loading (the file gives them relative to itself). */
/** A server certificate, its key, and optionally the CA its clients' certificates must chain to. */
export type TlsFiles = GrpcTls;

export interface GrpcTls {
  certFile: string;
  keyFile: string;
  /** When set, clients must present a certificate this CA signed (mutual TLS). */
  clientCaFile?: string;
}

/** The daemon's side of authentication (the provider is a plugin; see docs/http.md). */
export interface AuthSettings {
  /** The plugin that answers auth.validate / auth.login / auth.createKey ... (default "apikeys"). */
  plugin: string;
  /** How long an auth.validate answer is reused, ms; revocation events clear it at once. 0: ask every time. */
  cacheTtlMs: number;
  /** How long to wait for the auth plugin's answer before failing closed with 503, ms. */
  validateTimeoutMs: number;
  /** Create <dataDir>/root.token on first start and accept it as an admin credential. */
  rootToken: boolean;
}

/** Cluster mode (docs/deploy.md): the NATS bus between daemons and how calls are spread. */
export interface ClusterSettings {
  /** credentials: an absolute path after loading. */
  nats: { servers: string[]; credentials?: string; token?: string };
  routing: "local-first" | "balanced";
  heartbeatMs: number;
  maxInflightPerNode: number;
  /** Send the calls and replies of one event-loop turn for one node as one NATS message (nodes that announce it). */
  batch: boolean;
}

/** telemetry.tracing: W3C trace context and a span per routed call (docs/tracing.md). */
export interface TracingSettings {
  /** false: no spans, and a caller's traceparent is passed to the plugin as it came. */
  enabled: boolean;
  /** The share of new traces (no sampled caller) that are recorded, 0..1; a caller's sampled flag always wins. */
  sampleRatio: number;
  /** Recent traces the daemon keeps for GET /api/traces and `bkg trace`. */
  bufferTraces: number;
  /** Spans kept per trace; more are counted, not kept. */
  spansPerTrace: number;
}

/** telemetry.otlp: OTLP/HTTP (JSON) export of the sampled spans; absent = no export. */
export interface OtlpSettings {
  /** The collector's traces URL, e.g. http://127.0.0.1:4318/v1/traces. */
  endpoint: string;
  headers: Record<string, string>;
  /** Spans waiting for export at most; more are dropped (bkg_trace_spans_dropped_total). */
  queueSize: number;
  batchSize: number;
  delayMs: number;
  /** One export request may take this long before its spans count as dropped. */
  timeoutMs: number;
}

/** The daemon's configuration after defaults, the file and the environment are merged; paths are absolute. */
export interface ResolvedConfig {
  /** The file it came from, or undefined when only defaults and environment applied. */
  file?: string;
  manifestsDir: string;
  dataDir: string;
  socketPath: string;
  logLevel: LogLevelSetting;
  http: HttpSettings;
  grpc: { enabled: boolean; host: string; port: number; tls?: GrpcTls } & GrpcLimits;
  socket: SocketSettings;
  auth: AuthSettings;
  limits: { maxMessageBytes: number; logLines: number; jsonDepth: number };
  /** Where telemetry, events and cluster nodes are kept: a postgres:// URL, sqlite:PATH, or (absent) <dataDir>/bkg.db. */
  storage: { url?: string; nodeId?: string };
  /** Absent: this daemon is on its own. */
  cluster?: ClusterSettings;
  /** Per-call recording (the router's recorder), its flush interval and how long it is kept; traces (docs/tracing.md). */
  telemetry: { enabled: boolean; flushMs: number; retentionDays: number; tracing: TracingSettings; otlp?: OtlpSettings };
  /**
   * Plugin log files in <dataDir>/logs/plugins/: size rotation. What plugins may copy into the
   * daemon's own log (a token bucket per plugin), and where a plugin's log line is cut.
   */
  logs: { maxBytes: number; files: number; daemonLinesPerSec: number; daemonBurst: number; maxLineBytes: number };
  /** Manifest build steps: how many plugins may build at once (compilers use every core). */
  builds: { concurrency: number };
  defaults: { timeouts: TimeoutSettings; restart: RestartSettings; health: HealthSettings; idleMs: number };
  models: ModelsSettings;
}

/** The model store (docs/models.md): where models are kept and where pulls fetch from. */
export interface ModelsSettings {
  /** One folder per model with its model.json; plugins get it as BKG_MODELS_DIR. Absolute after loading. */
  dir: string;
  /** The Hugging Face endpoint hf: sources resolve against (a mirror works). */
  hfEndpoint: string;
  /** A PEP 691 simple index (JSON) pypi: sources resolve through. */
  pypiIndex: string;
}

/** Every default in one object; docs/config.md lists the same values. */
export const DEFAULTS = {
  manifestsDir: "manifests",
  dataDir: ".bkg",
  logLevel: "info" as LogLevelSetting,
  http: {
    enabled: true,
    host: "127.0.0.1",
    port: 43119,
    bodyLimit: 1024 * 1024,
    cors: { origins: [] as string[] },
    rateLimit: { perCredential: 600, perIp: 600, windowMs: 60_000 },
    publicRoutes: ["GET /health"],
    accessLog: true,
    dashboard: true,
    maxConnections: 512,
    headersTimeoutMs: 30_000,
    requestTimeoutMs: 60_000,
    keepAliveTimeoutMs: 72_000,
    ws: { maxConnections: 256, maxPayloadBytes: 1024 * 1024, maxBufferedBytes: 16 * 1024 * 1024, pingIntervalMs: 30_000 },
  },
  grpc: {
    enabled: false,
    host: "127.0.0.1",
    port: 43120,
    maxReceiveMessageBytes: 4 * 1024 * 1024,
    maxSendMessageBytes: 64 * 1024 * 1024,
    maxConcurrentStreams: 100,
    keepaliveTimeMs: 120_000,
    keepaliveTimeoutMs: 20_000,
    maxConnectionIdleMs: 600_000,
  },
  socket: {
    maxConnections: 128,
    maxFrameBytes: 16 * 1024 * 1024,
    frameTimeoutMs: 30_000,
    idleTimeoutMs: 600_000,
    maxPartialBytes: 128 * 1024 * 1024,
    outputPauseBytes: 4 * 1024 * 1024,
    outputDropBytes: 64 * 1024 * 1024,
  },
  auth: { plugin: "apikeys", cacheTtlMs: 10_000, validateTimeoutMs: 5_000, rootToken: true },
  limits: { maxMessageBytes: 64 * 1024 * 1024, logLines: 500, jsonDepth: 128 },
  storage: {} as { url?: string; nodeId?: string },
  cluster: { routing: "local-first" as ClusterSettings["routing"], heartbeatMs: 1000, maxInflightPerNode: 256, batch: true },
  telemetry: { enabled: true, flushMs: 5_000, retentionDays: 7, tracing: { enabled: true, sampleRatio: 1, bufferTraces: 1000, spansPerTrace: 200 } as TracingSettings },
  /** Applied under telemetry.otlp once it names an endpoint. */
  otlp: { headers: {}, queueSize: 2048, batchSize: 512, delayMs: 1000, timeoutMs: 10_000 } as Omit<OtlpSettings, "endpoint">,
  logs: { maxBytes: 10 * 1024 * 1024, files: 5, daemonLinesPerSec: 200, daemonBurst: 1000, maxLineBytes: 16 * 1024 },
  builds: { concurrency: 1 },
  defaults: {
    timeouts: { start: 10_000, call: 30_000, shutdown: 5_000, kill: 2_000, drain: 30_000 },
    restart: {
      policy: "on-failure" as RestartPolicyName,
      backoff: { initialMs: 100, factor: 2, maxMs: 30_000, jitter: 0.2 },
      maxRestarts: 5,
      windowMs: 60_000,
      stableMs: 30_000,
    },
    health: { intervalMs: 10_000, timeoutMs: 5_000, misses: 3 },
    idleMs: 300_000,
  },
  /** models.dir defaults to <dataDir>/models (resolved in loadConfig). */
  models: { hfEndpoint: "https://huggingface.co", pypiIndex: "https://pypi.org/simple" },
};

export class ConfigError extends Error {
  constructor(
    readonly problems: Problem[],
    readonly file?: string,
  ) {
    super(problems.map((p) => `${p.path || "/"}: ${p.message}`).join("; "));
    this.name = "ConfigError";
  }
}
