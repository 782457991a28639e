import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { validatorFor, toProblems, type Problem } from "../validation/schemas.js";
import { ConfigError, DEFAULTS, type GrpcTls, type ResolvedConfig } from "./config.js";
import { findConfigFile } from "./find-config-file.js";

export interface LoadConfigOptions {
  /** An explicit file (--config). Missing is an error; when absent, BKG_CONFIG, else the nearest bkg.config.json (findConfigFile). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

type EnvType = "string" | "integer" | "number" | "boolean" | "list";

/** Environment variables that override the file: name -> [JSON path, type]. */
export const ENV_OVERRIDES: Record<string, [string[], EnvType]> = {
  BKG_MANIFESTS_DIR: [["manifestsDir"], "string"],
  BKG_DATA_DIR: [["dataDir"], "string"],
  BKG_SOCKET_PATH: [["socketPath"], "string"],
  BKG_LOG_LEVEL: [["logLevel"], "string"],
  BKG_HTTP_ENABLED: [["http", "enabled"], "boolean"],
  BKG_HTTP_HOST: [["http", "host"], "string"],
  BKG_HTTP_PORT: [["http", "port"], "integer"],
  BKG_HTTP_DASHBOARD: [["http", "dashboard"], "boolean"],
  BKG_HTTP_BODY_LIMIT: [["http", "bodyLimit"], "integer"],
  BKG_HTTP_CORS_ORIGINS: [["http", "cors", "origins"], "list"],
  BKG_HTTP_RATE_LIMIT: [["http", "rateLimit", "perCredential"], "integer"],
  BKG_HTTP_RATE_LIMIT_IP: [["http", "rateLimit", "perIp"], "integer"],
  BKG_GRPC_ENABLED: [["grpc", "enabled"], "boolean"],
  BKG_GRPC_HOST: [["grpc", "host"], "string"],
  BKG_GRPC_PORT: [["grpc", "port"], "integer"],
  BKG_AUTH_PLUGIN: [["auth", "plugin"], "string"],
  BKG_MAX_MESSAGE_BYTES: [["limits", "maxMessageBytes"], "integer"],
  BKG_HTTP_MAX_CONNECTIONS: [["http", "maxConnections"], "integer"],
  BKG_SOCKET_MAX_CONNECTIONS: [["socket", "maxConnections"], "integer"],
  BKG_STORAGE_URL: [["storage", "url"], "string"],
  BKG_NODE_ID: [["storage", "nodeId"], "string"],
  BKG_CLUSTER_NATS_SERVERS: [["cluster", "nats", "servers"], "list"],
  BKG_CLUSTER_NATS_TOKEN: [["cluster", "nats", "token"], "string"],
  BKG_CLUSTER_ROUTING: [["cluster", "routing"], "string"],
  BKG_TELEMETRY_ENABLED: [["telemetry", "enabled"], "boolean"],
  BKG_TELEMETRY_FLUSH_MS: [["telemetry", "flushMs"], "integer"],
  BKG_TELEMETRY_RETENTION_DAYS: [["telemetry", "retentionDays"], "integer"],
  BKG_TRACING_ENABLED: [["telemetry", "tracing", "enabled"], "boolean"],
  BKG_TRACING_SAMPLE_RATIO: [["telemetry", "tracing", "sampleRatio"], "number"],
  BKG_OTLP_ENDPOINT: [["telemetry", "otlp", "endpoint"], "string"],
  BKG_LOGS_MAX_BYTES: [["logs", "maxBytes"], "integer"],
  BKG_LOGS_FILES: [["logs", "files"], "integer"],
  BKG_BUILDS_CONCURRENCY: [["builds", "concurrency"], "integer"],
  BKG_LOGS_DAEMON_LINES_PER_SEC: [["logs", "daemonLinesPerSec"], "integer"],
  BKG_MODELS_DIR: [["models", "dir"], "string"],
  BKG_MODELS_HF_ENDPOINT: [["models", "hfEndpoint"], "string"],
  BKG_MODELS_PYPI_INDEX: [["models", "pypiIndex"], "string"],
};

/**
 * Loads, merges and validates the configuration. Pure apart from reading the file; throws
 * ConfigError listing every problem (each with its JSON path) when anything is wrong.
 */
export function loadConfig(options: LoadConfigOptions = {}): ResolvedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.file ?? env.BKG_CONFIG;
  const file = explicit ? resolve(cwd, explicit) : findConfigFile(cwd);

  // biome-ignore lint/suspicious/noExplicitAny: the config file's JSON before the schema has checked it
  let raw: Record<string, any> = {};
  if (file) {
    if (!existsSync(file)) throw new ConfigError([{ path: "", message: `config file ${file} does not exist` }], file);
    try {
      raw = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      throw new ConfigError([{ path: "", message: `${file} is not valid JSON: ${(e as Error).message}` }], file);
    }
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new ConfigError([{ path: "", message: "must be a JSON object" }], file);
  }

  const problems: Problem[] = [];
  const validate = validatorFor("bkg-config.schema.json");
  if (!validate(raw)) problems.push(...toProblems(validate.errors).map((p) => ({ ...p, message: `${p.message} (in ${file})` })));
  const merged = structuredClone(raw);
  for (const [name, [path, type]] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    const parsed = parseEnv(value, type);
    if (parsed === undefined) {
      problems.push({ path: `/${path.join("/")}`, message: `${name}=${JSON.stringify(value)} is not a valid ${type}` });
      continue;
    }
    setPath(merged, path, parsed);
  }
  if (!validate(merged)) {
    for (const p of toProblems(validate.errors)) {
      if (!problems.some((q) => q.path === p.path)) problems.push({ ...p, message: `${p.message} (from the environment)` });
    }
  }
  const h = { ...DEFAULTS.http, ...merged.http };
  if (h.requestTimeoutMs > 0 && h.headersTimeoutMs > h.requestTimeoutMs) {
    problems.push({ path: "/http/headersTimeoutMs", message: `${h.headersTimeoutMs} is longer than http.requestTimeoutMs (${h.requestTimeoutMs}); the headers are part of the request` });
  }
  const so = { ...DEFAULTS.socket, ...merged.socket };
  if (so.outputDropBytes < so.outputPauseBytes) {
    problems.push({ path: "/socket/outputDropBytes", message: `${so.outputDropBytes} is below socket.outputPauseBytes (${so.outputPauseBytes}); a client must be paused before it is dropped` });
  }
  if (problems.length) throw new ConfigError(problems, file);

  const base = file ? dirname(file) : cwd;
  const d = DEFAULTS;
  const dataDir = resolve(base, merged.dataDir ?? d.dataDir);
  const md = merged.defaults ?? {};
  return {
    file,
    manifestsDir: resolve(base, merged.manifestsDir ?? d.manifestsDir),
    dataDir,
    socketPath: merged.socketPath ? resolve(base, merged.socketPath) : resolve(dataDir, "bkg.sock"),
    logLevel: merged.logLevel ?? d.logLevel,
    http: {
      ...d.http,
      ...merged.http,
      cors: { ...d.http.cors, ...merged.http?.cors },
      rateLimit: { ...d.http.rateLimit, ...merged.http?.rateLimit },
      publicRoutes: merged.http?.publicRoutes ?? d.http.publicRoutes,
      // WebSocket messages had http.bodyLimit as their limit: a raised bodyLimit still raises it.
      ws: { ...d.http.ws, maxPayloadBytes: merged.http?.bodyLimit ?? d.http.ws.maxPayloadBytes, ...merged.http?.ws },
      ...(merged.http?.tls ? { tls: resolveTls(base, merged.http.tls) } : {}),
    },
    grpc: { ...d.grpc, ...merged.grpc, tls: resolveTls(base, merged.grpc?.tls) },
    socket: { ...d.socket, ...merged.socket },
    auth: { ...d.auth, ...merged.auth },
    limits: { ...d.limits, ...merged.limits },
    storage: { ...d.storage, ...merged.storage },
    cluster: merged.cluster
      ? {
          ...d.cluster,
          ...merged.cluster,
          nats: { ...merged.cluster.nats, ...(merged.cluster.nats?.credentials ? { credentials: resolve(base, merged.cluster.nats.credentials) } : {}) },
        }
      : undefined,
    telemetry: {
      ...d.telemetry,
      ...merged.telemetry,
      tracing: { ...d.telemetry.tracing, ...merged.telemetry?.tracing },
      ...(merged.telemetry?.otlp?.endpoint ? { otlp: { ...d.otlp, ...merged.telemetry.otlp } } : { otlp: undefined }),
    },
    logs: { ...d.logs, ...merged.logs },
    builds: { ...d.builds, ...merged.builds },
    defaults: {
      timeouts: { ...d.defaults.timeouts, ...md.timeouts },
      restart: { ...d.defaults.restart, ...md.restart, backoff: { ...d.defaults.restart.backoff, ...md.restart?.backoff } },
      health: { ...d.defaults.health, ...md.health },
      idleMs: md.idleMs ?? d.defaults.idleMs,
    },
    models: {
      ...d.models,
      ...merged.models,
      dir: merged.models?.dir ? resolve(base, merged.models.dir) : resolve(dataDir, "models"),
    },
  };
}

function parseEnv(value: string, type: EnvType): unknown {
  if (type === "string") return value;
  if (type === "list")
    return value
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
  if (type === "integer") return /^-?\d+$/.test(value) ? Number(value) : undefined;
  if (type === "number") return /^-?\d+(?:\.\d+)?$/.test(value) ? Number(value) : undefined;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  return undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: the config file's JSON before the schema has checked it
function setPath(obj: Record<string, any>, path: string[], value: unknown): void {
  let o = obj;
  for (const key of path.slice(0, -1)) o = o[key] && typeof o[key] === "object" ? o[key] : (o[key] = {});
  o[path[path.length - 1]] = value;
}

function resolveTls(base: string, tls: GrpcTls | undefined): GrpcTls | undefined {
  if (!tls) return undefined;
  return {
    certFile: resolve(base, tls.certFile),
    keyFile: resolve(base, tls.keyFile),
    ...(tls.clientCaFile ? { clientCaFile: resolve(base, tls.clientCaFile) } : {}),
  };
}
