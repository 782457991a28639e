import type { HealthSettings, RestartSettings, TimeoutSettings } from "../config/index.js";
import type { Problem } from "../validation/schemas.js";

/** `{"$env": "NAME"}`: a value taken from the daemon's environment at spawn / initialize time. */
export interface EnvReference {
  $env: string;
}

/** A manifest as written in manifests/NAME.json (see schemas/plugin-manifest.schema.json). */
export interface ManifestFile {
  name: string;
  version: string;
  description?: string;
  enabled?: boolean;
  command: string[];
  cwd?: string;
  env?: Record<string, string | EnvReference>;
  /** Names (or PREFIX_*) of the daemon's variables this plugin gets (systemd's PassEnvironment=). */
  passEnv?: string[];
  provides?: string[];
  protocol?: string;
  requires?: Record<string, string>;
  permissions?: string[];
  instances?: number;
  concurrency?: number;
  queue?: number;
  standby?: number;
  activation?: "eager" | "lazy";
  idleMs?: number;
  timeouts?: Partial<TimeoutSettings>;
  restart?: Partial<Omit<RestartSettings, "backoff">> & { backoff?: Partial<RestartSettings["backoff"]> };
  limits?: { memoryMb?: number; memoryHardMb?: number; maxMessageBytes?: number };
  health?: Partial<HealthSettings>;
  watch?: string[];
  config?: Record<string, unknown>;
  build?: { command: string[]; cwd?: string; inputs: string[]; outputs?: string[]; timeoutMs?: number; env?: Record<string, string> };
}

/** A manifest's build step with defaults filled in and its cwd absolute (see supervisor/plugin-build.ts). */
export interface BuildStep {
  command: string[];
  cwd: string;
  inputs: string[];
  outputs: string[];
  timeoutMs: number;
  env: Record<string, string>;
}

/** A valid manifest with the daemon's defaults filled in and paths made absolute. */
export interface Manifest {
  file: string;
  name: string;
  version: string;
  description: string;
  enabled: boolean;
  command: string[];
  cwd: string;
  /** As written: values may be `{"$env": "NAME"}`, resolved only when an instance starts. */
  env: Record<string, string | EnvReference>;
  passEnv: string[];
  provides: string[];
  protocol: string;
  requires: Record<string, string>;
  permissions: string[];
  instances: number;
  concurrency: number;
  queue: number;
  standby: number;
  activation: "eager" | "lazy";
  idleMs: number;
  timeouts: TimeoutSettings;
  restart: RestartSettings;
  /** memoryHardMb is filled in (memoryMb × 1.25 by default) whenever memoryMb is set. */
  limits: { memoryMb?: number; memoryHardMb?: number; maxMessageBytes: number; jsonDepth: number };
  health: HealthSettings;
  watch: string[];
  config: Record<string, unknown>;
  /** Run before an instance starts when its inputs changed since the last successful build. */
  build?: BuildStep;
  /** The file's text hash: a change that does not alter it is not a reload. */
  digest: string;
}

/** A manifest file that failed validation; shown as plugin state `invalid`. */
export interface InvalidManifest {
  file: string;
  /** The name, when the file got far enough to have one. */
  name?: string;
  problems: Problem[];
}

export type ManifestResult = { ok: true; manifest: Manifest } | { ok: false; invalid: InvalidManifest };
