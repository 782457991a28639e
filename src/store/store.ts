/**
 * The store: where the daemon keeps telemetry, events and the cluster's nodes. One interface,
 * two drivers (sqlite-store.ts, postgres-store.ts). Users, keys and plugin config are not here:
 * plugins own their state (plugins/apikeys writes its own SQLite synchronously).
 *
 * Contract shared by both drivers:
 * - Times are epoch milliseconds; `minute` is the start of a minute (a multiple of 60000).
 * - Nothing throws for a database problem: every operation resolves with a Result whose error
 *   says what failed and what to do about it. Only programming errors throw.
 * - `write` is one transaction: a batch is stored whole or not at all.
 * - Rows are owned by their writer: rollups and instance stats are keyed by node and run, so
 *   several daemons (or restarts of one) never overwrite each other's rows.
 */

export type StoreDriver = "sqlite" | "postgres";

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(error: string): Result<T> => ({ ok: false, error });

/** What an event is about. `daemon` is the daemon's own notes (started, stopping, events dropped). */
export type EventKind = "lifecycle" | "call-error" | "audit" | "plugin" | "daemon";
export const EVENT_KINDS: readonly EventKind[] = ["lifecycle", "call-error", "audit", "plugin", "daemon"];

export interface StoredEvent {
  /** Assigned by the store; absent before the event is written. */
  id?: number;
  nodeId: string;
  ts: number;
  kind: EventKind;
  plugin?: string;
  instance?: string;
  /** The state (lifecycle), the method (call-error), the action (audit), the event name (plugin). */
  name?: string;
  /** The error code of a call error. */
  code?: number;
  message?: string;
  data?: unknown;
}

export interface EventQuery {
  /** Inclusive lower bound on ts. */
  since?: number;
  /** Exclusive upper bound on ts. */
  until?: number;
  plugin?: string;
  kinds?: readonly EventKind[];
  nodeId?: string;
  /** The newest `limit` matching events (default 200, at most 10000), returned oldest first. */
  limit?: number;
}

/** One minute of calls to one method, as one daemon run saw it. */
export interface RollupRow {
  nodeId: string;
  runId: number;
  minute: number;
  plugin: string;
  method: string;
  calls: number;
  errors: number;
  /** error code -> count */
  errorsByCode: Record<string, number>;
  durationSum: number;
  durationMax: number;
  queueWaitSum: number;
  queueWaitMax: number;
  /** Sparse latency histogram: bucket index (see telemetry/histogram.ts) -> count. */
  histogram: Record<string, number>;
}

export interface RollupQuery {
  since?: number;
  until?: number;
  plugin?: string;
  nodeId?: string;
}

/** One minute of one instance's process group: the last sample of the minute, and its peak RSS. */
export interface InstanceStatRow {
  nodeId: string;
  runId: number;
  minute: number;
  plugin: string;
  instance: string;
  pid?: number;
  rssBytes: number;
  rssMaxBytes: number;
  cpuPct: number;
  uptimeMs: number;
  restarts: number;
}

export interface NodePlugin {
  name: string;
  state: string;
  version?: string;
  instances: number;
}

/** A daemon writing to this store. */
export interface NodeRecord {
  nodeId: string;
  hostname: string;
  pid: number;
  version: string;
  startedAt: number;
  lastSeen: number;
  /** "stopped" once the daemon has shut down gracefully; a killed daemon stays "running" with an old lastSeen. */
  state: "running" | "stopped";
  plugins: NodePlugin[];
}

/** Everything one flush writes, in one transaction. Keys of rollups and instances are unique within a batch. */
export interface Batch {
  node?: NodeRecord;
  events: StoredEvent[];
  rollups: RollupRow[];
  instances: InstanceStatRow[];
}

/** One pulled model of one daemon: the `models` table, a copy of its model.json (src/models). */
export interface ModelRow {
  nodeId: string;
  name: string;
  /** The main file (the first role's: the GGUF, the ONNX graph, the weights). */
  file: string;
  format: string;
  /** Bytes of all its files. */
  size: number;
  /** sha256 of the main file (metadata.sha256 has every file's). */
  sha256: string;
  source: string;
  licence: string;
  /** What model.json says beyond the columns: metadata, files by role, every file's sha256. */
  metadata: Record<string, unknown>;
  pulledAt: number;
}

export interface MigrationReport {
  from: number;
  to: number;
  applied: string[];
}

export interface PruneReport {
  events: number;
  rollups: number;
  instances: number;
  nodes: number;
}

export interface Store {
  readonly driver: StoreDriver;
  /** Where the data is, for people: a file path, or the PostgreSQL URL without its password. */
  readonly location: string;
  /**
   * Brings the schema to the newest version this bkg knows, each migration in its own
   * transaction. Fails, changing nothing, when the database has a newer schema than this bkg
   * knows (a newer bkg wrote it). Safe to run from several daemons at once.
   */
  migrate(): Promise<Result<MigrationReport>>;
  /** The schema version in the database (0 when it has none yet). */
  schemaVersion(): Promise<Result<number>>;
  write(batch: Batch): Promise<Result<void>>;
  events(q: EventQuery): Promise<Result<StoredEvent[]>>;
  rollups(q: RollupQuery): Promise<Result<RollupRow[]>>;
  instanceStats(q: RollupQuery): Promise<Result<InstanceStatRow[]>>;
  nodes(): Promise<Result<NodeRecord[]>>;
  /** Inserts or replaces a model row (by node and name). */
  putModel(row: ModelRow): Promise<Result<void>>;
  /** Deletes the named model rows of a node (names it does not have are ignored). */
  deleteModels(nodeId: string, names: readonly string[]): Promise<Result<void>>;
  /** Model rows of one node (or of all), by name. */
  models(nodeId?: string): Promise<Result<ModelRow[]>>;
  /** Deletes events, rollups and instance stats older than `before`, and nodes not seen since. */
  prune(before: number): Promise<Result<PruneReport>>;
  /** Releases the database. Idempotent; other calls after it fail with a Result error. */
  close(): Promise<void>;
}

export const DEFAULT_EVENT_LIMIT = 200;
export const MAX_EVENT_LIMIT = 10_000;

export function eventLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_EVENT_LIMIT;
  return Math.max(1, Math.min(MAX_EVENT_LIMIT, Math.floor(limit)));
}
