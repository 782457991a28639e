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

/** The daemon's configuration after defaults, the file and the environment are merged; paths are absolute. */
export interface ResolvedConfig {
  /** The file it came from, or undefined when only defaults and environment applied. */
  file?: string;
  manifestsDir: string;
  dataDir: string;
  socketPath: string;
  logLevel: LogLevelSetting;
  http: { enabled: boolean; host: string; port: number };
  limits: { maxMessageBytes: number; logLines: number };
  /** Where telemetry, events and cluster nodes are kept: a postgres:// URL, sqlite:PATH, or (absent) <dataDir>/bkg.db. */
  storage: { url?: string; nodeId?: string };
  /** Per-call recording (the router's recorder), its flush interval and how long it is kept. */
  telemetry: { enabled: boolean; flushMs: number; retentionDays: number };
  /** Plugin log files in <dataDir>/logs/plugins/: size rotation. */
  logs: { maxBytes: number; files: number };
  defaults: { timeouts: TimeoutSettings; restart: RestartSettings; health: HealthSettings; idleMs: number };
}

/** Every default in one object; docs/config.md lists the same values. */
export const DEFAULTS = {
  manifestsDir: "manifests",
  dataDir: ".bkg",
  logLevel: "info" as LogLevelSetting,
  http: { enabled: true, host: "127.0.0.1", port: 43119 },
  limits: { maxMessageBytes: 64 * 1024 * 1024, logLines: 500 },
  storage: {} as { url?: string; nodeId?: string },
  telemetry: { enabled: true, flushMs: 5_000, retentionDays: 7 },
  logs: { maxBytes: 10 * 1024 * 1024, files: 5 },
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
