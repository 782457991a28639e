/**
 * SQL shared by both drivers: one table spec per table (columns, conflict key, row <-> params),
 * from which INSERT/UPSERT statements are built with `?` (SQLite) or `$n` (PostgreSQL)
 * placeholders, and the WHERE clauses of the queries.
 */
import type { EventQuery, InstanceStatRow, ModelRow, NodeRecord, RollupQuery, RollupRow, StoredEvent } from "./store.js";
import { eventLimit } from "./store.js";

type Row = Record<string, unknown>;

export interface TableSpec<T> {
  table: string;
  columns: readonly string[];
  /** Upsert key: a row with the same key replaces the old one. Absent for append-only tables. */
  key?: readonly string[];
  params(row: T): unknown[];
  fromRow(row: Row): T;
}

const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
const parse = <T>(v: unknown, fallback: T): T => {
  if (typeof v !== "string") return fallback;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
};
const num = (v: unknown): number => Number(v);
const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

export const NODES: TableSpec<NodeRecord> = {
  table: "nodes",
  columns: ["node_id", "hostname", "pid", "version", "started_at", "last_seen", "state", "plugins"],
  key: ["node_id"],
  params: (n) => [n.nodeId, n.hostname, n.pid, n.version, n.startedAt, n.lastSeen, n.state, JSON.stringify(n.plugins)],
  fromRow: (r) => ({
    nodeId: String(r.node_id),
    hostname: String(r.hostname),
    pid: num(r.pid),
    version: String(r.version),
    startedAt: num(r.started_at),
    lastSeen: num(r.last_seen),
    state: r.state === "stopped" ? "stopped" : "running",
    plugins: parse(r.plugins, []),
  }),
};

export const EVENTS: TableSpec<StoredEvent> = {
  table: "events",
  columns: ["node_id", "ts", "kind", "plugin", "instance", "name", "code", "message", "data"],
  params: (e) => [e.nodeId, e.ts, e.kind, e.plugin ?? null, e.instance ?? null, e.name ?? null, e.code ?? null, e.message ?? null, json(e.data)],
  fromRow: (r) => {
    const e: StoredEvent = { id: num(r.id), nodeId: String(r.node_id), ts: num(r.ts), kind: r.kind as StoredEvent["kind"] };
    if (r.plugin != null) e.plugin = String(r.plugin);
    if (r.instance != null) e.instance = String(r.instance);
    if (r.name != null) e.name = String(r.name);
    if (r.code != null) e.code = num(r.code);
    if (r.message != null) e.message = String(r.message);
    if (r.data != null) e.data = parse(r.data, undefined);
    return e;
  },
};

export const ROLLUPS: TableSpec<RollupRow> = {
  table: "call_rollups",
  columns: ["node_id", "run_id", "minute", "plugin", "method", "calls", "errors", "errors_by_code", "duration_sum", "duration_max", "queue_wait_sum", "queue_wait_max", "histogram"],
  key: ["node_id", "run_id", "plugin", "method", "minute"],
  params: (r) => [
    r.nodeId,
    r.runId,
    r.minute,
    r.plugin,
    r.method,
    r.calls,
    r.errors,
    JSON.stringify(r.errorsByCode),
    r.durationSum,
    r.durationMax,
    r.queueWaitSum,
    r.queueWaitMax,
    JSON.stringify(r.histogram),
  ],
  fromRow: (r) => ({
    nodeId: String(r.node_id),
    runId: num(r.run_id),
    minute: num(r.minute),
    plugin: String(r.plugin),
    method: String(r.method),
    calls: num(r.calls),
    errors: num(r.errors),
    errorsByCode: parse(r.errors_by_code, {}),
    durationSum: num(r.duration_sum),
    durationMax: num(r.duration_max),
    queueWaitSum: num(r.queue_wait_sum),
    queueWaitMax: num(r.queue_wait_max),
    histogram: parse(r.histogram, {}),
  }),
};

export const INSTANCES: TableSpec<InstanceStatRow> = {
  table: "instance_stats",
  columns: ["node_id", "run_id", "minute", "plugin", "instance", "pid", "rss_bytes", "rss_max_bytes", "cpu_pct", "uptime_ms", "restarts"],
  key: ["node_id", "run_id", "instance", "minute"],
  params: (s) => [s.nodeId, s.runId, s.minute, s.plugin, s.instance, s.pid ?? null, s.rssBytes, s.rssMaxBytes, s.cpuPct, s.uptimeMs, s.restarts],
  fromRow: (r) => ({
    nodeId: String(r.node_id),
    runId: num(r.run_id),
    minute: num(r.minute),
    plugin: String(r.plugin),
    instance: String(r.instance),
    pid: opt(r.pid as number | null) === undefined ? undefined : num(r.pid),
    rssBytes: num(r.rss_bytes),
    rssMaxBytes: num(r.rss_max_bytes),
    cpuPct: num(r.cpu_pct),
    uptimeMs: num(r.uptime_ms),
    restarts: num(r.restarts),
  }),
};

export type Placeholders = "?" | "$";

/** INSERT (or UPSERT when the spec has a key) of `rows` rows in one statement. */
export function insertSql<T>(spec: TableSpec<T>, rows: number, ph: Placeholders): string {
  const n = spec.columns.length;
  const groups: string[] = [];
  for (let r = 0; r < rows; r++) {
    groups.push(`(${spec.columns.map((_, c) => (ph === "?" ? "?" : `$${r * n + c + 1}`)).join(", ")})`);
  }
  let sql = `INSERT INTO ${spec.table} (${spec.columns.join(", ")}) VALUES ${groups.join(", ")}`;
  if (spec.key) {
    const set = spec.columns.filter((c) => !spec.key!.includes(c)).map((c) => `${c} = excluded.${c}`);
    sql += ` ON CONFLICT (${spec.key.join(", ")}) DO UPDATE SET ${set.join(", ")}`;
  }
  return sql;
}

export interface Query {
  sql: string;
  params: unknown[];
}

/** Rewrites `?` placeholders as `$1, $2, ...` for PostgreSQL. */
export function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

export function eventsQuery(q: EventQuery): Query {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.since !== undefined) where.push("ts >= ?"), params.push(q.since);
  if (q.until !== undefined) where.push("ts < ?"), params.push(q.until);
  if (q.plugin) where.push("plugin = ?"), params.push(q.plugin);
  if (q.nodeId) where.push("node_id = ?"), params.push(q.nodeId);
  if (q.kinds?.length) where.push(`kind IN (${q.kinds.map(() => "?").join(", ")})`), params.push(...q.kinds);
  params.push(eventLimit(q.limit));
  return { sql: `SELECT * FROM events${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY ts DESC, id DESC LIMIT ?`, params };
}

/** Rollups or instance stats by minute range, plugin and node, oldest first. */
export function minutesQuery(table: "call_rollups" | "instance_stats", q: RollupQuery): Query {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.since !== undefined) where.push("minute >= ?"), params.push(Math.floor(q.since / 60_000) * 60_000);
  if (q.until !== undefined) where.push("minute < ?"), params.push(q.until);
  if (q.plugin) where.push("plugin = ?"), params.push(q.plugin);
  if (q.nodeId) where.push("node_id = ?"), params.push(q.nodeId);
  return { sql: `SELECT * FROM ${table}${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY minute`, params };
}

/** The deletes of `prune`, in order, each with the cutoff as its one parameter. */
export const PRUNE_SQL = {
  events: "DELETE FROM events WHERE ts < ?",
  rollups: "DELETE FROM call_rollups WHERE minute < ?",
  instances: "DELETE FROM instance_stats WHERE minute < ?",
  nodes: "DELETE FROM nodes WHERE last_seen < ?",
} as const;

export const MODELS: TableSpec<ModelRow> = {
  table: "models",
  columns: ["node_id", "name", "file", "format", "size", "sha256", "source", "licence", "metadata", "pulled_at"],
  key: ["node_id", "name"],
  params: (m) => [m.nodeId, m.name, m.file, m.format, m.size, m.sha256, m.source, m.licence, JSON.stringify(m.metadata), m.pulledAt],
  fromRow: (r) => ({
    nodeId: String(r.node_id),
    name: String(r.name),
    file: String(r.file),
    format: String(r.format),
    size: num(r.size),
    sha256: String(r.sha256),
    source: String(r.source),
    licence: String(r.licence),
    metadata: parse(r.metadata, {}),
    pulledAt: num(r.pulled_at),
  }),
};

/** The models of one node (or all), by node and name; `?` placeholders. */
export function modelsQuery(nodeId?: string): Query {
  return nodeId ? { sql: "SELECT * FROM models WHERE node_id = ? ORDER BY name", params: [nodeId] } : { sql: "SELECT * FROM models ORDER BY node_id, name", params: [] };
}
