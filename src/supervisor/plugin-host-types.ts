/** The types a PluginHost is built from and reports: its dependencies, generations, exits and failed swaps. */
import type { BkgCallParams, BkgError } from "@bkg/protocol";
import type { PluginState } from "../events/index.js";
import type { LogRing } from "../logs/index.js";
import type { Manifest } from "../registry/index.js";
import type { ParamsSchemaCache } from "../validation/params-schema-cache.js";
import type { InstanceCgroups } from "./instance-cgroups.js";
import type { MethodTable } from "./method-table.js";
import type { PluginBuilder } from "./plugin-builder.js";
import { PluginInstance, type CallLink, type InstanceExit } from "./plugin-instance.js";

/**
 * What a PluginHost needs from the daemon. `Host` is the PluginHost itself (plugin-host.ts
 * names it HostDeps), a parameter here so that this file does not import plugin-host.ts.
 */
export interface HostDepsOf<Host> {
  dataDir: string;
  /** BKG_DAEMON_RUN for every process of this daemon run (see run-marker.ts). */
  runMarker?: string;
  /** A cgroup v2 leaf per instance, where available. */
  cgroups?: InstanceCgroups;
  /** Where a plugin's log lines are cut (logs.maxLineBytes). */
  maxLineBytes?: number;
  /** The model store's folder (models.dir), given to plugins as BKG_MODELS_DIR. */
  modelsDir?: string;
  /**
   * The daemon's PostgreSQL store URL, for the auth plugin only (auth.plugin), so that users, keys
   * and sessions are shared by every daemon on that store. Given as BKG_STORAGE_URL.
   */
  sharedStoreUrl?: string;
  /** Compiled paramsSchemas kept across daemon starts; absent, every start compiles. */
  schemaCache?: ParamsSchemaCache;
  daemonVersion: string;
  logs: LogRing;
  /** Publishes a lifecycle event (the supervisor fans it out). */
  lifecycle(plugin: string, state: PluginState, reason?: string, instance?: string): void;
  log(plugin: string, level: string, msg: string, fields: Record<string, unknown> | undefined, instance: string | undefined, stream: "stderr" | "bkg/log" | "daemon"): void;
  emit(plugin: string, event: string, data: unknown): void;
  pluginCall(host: Host, params: BkgCallParams, link: CallLink): Promise<unknown>;
  /** Runs manifests' `build` steps; absent, a manifest's build is ignored (unit tests). */
  builder?: PluginBuilder;
}

/** States a start, stop or reload ends in: what `settled()` waits for. */
export const SETTLED: ReadonlySet<PluginState> = new Set(["ready", "idle", "stopped", "failed", "crashloop", "invalid", "blocked", "disabled"]);

/** A hot swap that did not happen: the version tried, why, and the version still serving. */
export interface SwapFailure {
  at: number;
  version: string;
  previousVersion: string;
  message: string;
  /** The line of the plugin's stderr that says why, when it said something. */
  headline?: string;
}

/** A set of instances started from one manifest version; a hot swap starts a new generation. */
export interface Generation {
  manifest: Manifest;
  instances: Set<PluginInstance>;
  methods?: MethodTable;
}

export interface LastExit extends InstanceExit {
  at: number;
  instance: string;
  nextRetryAt?: number;
}

/** A new instance of `host`'s plugin, wired to the daemon through `deps` (calls, logs, events) and reporting its exit. */
export function newInstance<Host extends { readonly name: string; readonly dataDir: string }>(
  host: Host,
  deps: HostDepsOf<Host>,
  id: string,
  manifest: Manifest,
  onExit: (inst: PluginInstance, exit: InstanceExit) => void,
): PluginInstance {
  return new PluginInstance(
    id,
    manifest,
    host.dataDir,
    deps.daemonVersion,
    {
      onPluginCall: (_i, params, link) => deps.pluginCall(host, params, link),
      onLog: (i, level, msg, fields, stream) => deps.log(host.name, level, msg, fields, i.id, stream),
      onEmit: (_i, event, data) => deps.emit(host.name, event, data),
      onExit,
    },
    {
      runMarker: deps.runMarker,
      cgroups: deps.cgroups,
      maxLineBytes: deps.maxLineBytes,
      modelsDir: deps.modelsDir,
      extraEnv: deps.sharedStoreUrl ? { BKG_STORAGE_URL: deps.sharedStoreUrl } : undefined,
    },
  );
}

/** The record of a hot swap to `next` that failed (`failed`: the start error, if one was given). */
export function swapFailure(next: Manifest, previous: Manifest, failed: BkgError | undefined): SwapFailure {
  const said = (failed?.data as { stderr?: unknown } | undefined)?.stderr;
  return {
    at: Date.now(),
    version: next.version,
    previousVersion: previous.version,
    message: failed?.message ?? "no instance became ready",
    ...(typeof said === "string" ? { headline: said } : {}),
  };
}
