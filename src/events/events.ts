/** Everything the daemon tells the outside world about, in one union. */

export type PluginState =
  | "invalid" // manifest failed validation
  | "blocked" // a `requires` is missing or incompatible
  | "disabled" // enabled: false
  | "idle" // lazy: not started until the first call
  | "building" // the manifest's build step runs before the plugin starts (or before a hot swap)
  | "build-failed" // the build step failed and nothing serves; a fixed source or bkg plugins start retries
  | "starting"
  | "ready"
  | "unresponsive"
  | "crashed"
  | "restarting"
  | "crashloop"
  | "failed" // will not be retried (protocol mismatch, bad method list, bad command)
  | "swapping"
  | "swapped"
  | "stopping"
  | "stopped";

export interface LifecycleEvent {
  /** Set on events from another cluster node (src/cluster): the node it happened on. */
  node?: string;
  kind: "lifecycle";
  ts: number;
  plugin: string;
  state: PluginState;
  instance?: string;
  reason?: string;
}

export interface LogEvent {
  /** Set on events from another cluster node (src/cluster): the node it happened on. */
  node?: string;
  kind: "log";
  ts: number;
  plugin: string;
  level: string;
  msg: string;
  instance?: string;
  stream?: "stderr" | "bkg/log" | "daemon";
  fields?: Record<string, unknown>;
}

export interface PluginEmitEvent {
  /** Set on events from another cluster node (src/cluster): the node it happened on. */
  node?: string;
  kind: "plugin";
  ts: number;
  plugin: string;
  event: string;
  data?: unknown;
}

/** Something an operator or a client did (started or stopped a plugin, created a key, ...); telemetry stores it. */
export interface AuditEvent {
  /** Set on events from another cluster node (src/cluster): the node it happened on. */
  node?: string;
  kind: "audit";
  ts: number;
  /** Who: "operator" (the socket), a credential or user id. */
  actor: string;
  /** What, as a method-like name: "plugins.stop", "auth.createKey". */
  action: string;
  plugin?: string;
  detail?: Record<string, unknown>;
}

/** A model pull's progress (docs/models.md): started, fetch (throttled), prepare, done or failed. */
export interface ModelPullEvent {
  kind: "model";
  ts: number;
  /** The cluster node the event came from, when another daemon's (src/cluster). */
  node?: string;
  pullId: string;
  /** The model's name (for a URI or path, the name it is stored under). */
  model: string;
  phase: "started" | "fetch" | "prepare" | "done" | "failed";
  /** What is being transferred (a URL or an archive's file name). */
  what?: string;
  received?: number;
  total?: number;
  /** On failed: the store's error code and message. */
  error?: { code: string; message: string };
}

export type BusEvent = LifecycleEvent | LogEvent | PluginEmitEvent | AuditEvent | ModelPullEvent;
export type Topic = BusEvent["kind"];
