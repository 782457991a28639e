/**
 * The SQLite driver (better-sqlite3): one file in the data folder, WAL, synchronous=NORMAL.
 * better-sqlite3 is synchronous, so every operation runs on the event loop: the daemon calls
 * the store only from its flush timer and from queries, never from the call path.
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { latestVersion, migrationsFor, newerSchemaError, SCHEMA_TABLE_SQL } from "./migrations.js";
import { EVENTS, eventsQuery, INSTANCES, insertSql, minutesQuery, MODELS, modelsQuery, NODES, PRUNE_SQL, ROLLUPS, type TableSpec } from "./sql.js";
import { fail, ok, type ModelRow, type Batch, type EventQuery, type MigrationReport, type PruneReport, type Result, type RollupQuery, type Store } from "./store.js";

export class SqliteStore implements Store {
  readonly driver = "sqlite" as const;
  private db?: Database.Database;
  private readonly statements = new Map<string, ReturnType<Database.Database["prepare"]>>();

  private constructor(readonly location: string) {}

  /** Opens (creating it and its folder if needed) the database file. */
  static open(file: string): Result<SqliteStore> {
    const s = new SqliteStore(file);
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      // Made 0600 before SQLite opens it (SQLite's own create follows the umask, 0644), and SQLite
      // gives the -wal and -shm files the database file's mode.
      closeSync(openSync(file, "a", 0o600));
      const db = new Database(file, { timeout: 5000 });
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      s.db = db;
      return ok(s);
    } catch (e) {
      return fail(`cannot open the SQLite store ${file}: ${(e as Error).message}; check that the data folder is writable, or set storage.url`);
    }
  }

  private run<T>(what: string, fn: (db: Database.Database) => T): Result<T> {
    if (!this.db) return fail(`the store ${this.location} is closed`);
    try {
      return ok(fn(this.db));
    } catch (e) {
      return fail(`${what} failed on ${this.location}: ${(e as Error).message}`);
    }
  }

  private stmt(sql: string) {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db!.prepare(sql)));
    return s;
  }

  async schemaVersion(): Promise<Result<number>> {
    return this.run("reading the schema version", (db) => {
      db.exec(SCHEMA_TABLE_SQL);
      return Number((db.prepare("SELECT COALESCE(MAX(version), 0) AS v FROM bkg_schema").get() as { v: number }).v);
    });
  }

  async migrate(): Promise<Result<MigrationReport>> {
    const known = latestVersion("sqlite");
    const r = this.run("migrating", (db): Result<MigrationReport> => {
      // BEGIN IMMEDIATE: a second daemon migrating the same file waits instead of racing.
      const migrateAll = db.transaction(() => {
        db.exec(SCHEMA_TABLE_SQL);
        const from = Number((db.prepare("SELECT COALESCE(MAX(version), 0) AS v FROM bkg_schema").get() as { v: number }).v);
        if (from > known) return fail<MigrationReport>(newerSchemaError(this.location, from, known));
        const applied: string[] = [];
        for (const m of migrationsFor("sqlite").filter((m) => m.version > from)) {
          db.exec(m.sql);
          db.prepare("INSERT INTO bkg_schema (version, name, applied_at) VALUES (?, ?, ?)").run(m.version, m.name, Date.now());
          applied.push(`${String(m.version).padStart(3, "0")}_${m.name}`);
        }
        return ok({ from, to: Math.max(from, known), applied });
      });
      return migrateAll.immediate();
    });
    return r.ok ? r.value : r;
  }

  async write(batch: Batch): Promise<Result<void>> {
    return this.run("writing a telemetry batch", (db) => {
      const put = <T>(spec: TableSpec<T>, rows: readonly T[]) => {
        if (!rows.length) return;
        const s = this.stmt(insertSql(spec, 1, "?"));
        for (const row of rows) s.run(...spec.params(row));
      };
      db.transaction(() => {
        if (batch.node) put(NODES, [batch.node]);
        put(EVENTS, batch.events);
        put(ROLLUPS, batch.rollups);
        put(INSTANCES, batch.instances);
      })();
    });
  }

  async events(q: EventQuery) {
    return this.run("querying events", () => {
      const { sql, params } = eventsQuery(q);
      return this.stmt(sql)
        .all(...params)
        .map(EVENTS.fromRow)
        .reverse();
    });
  }

  async rollups(q: RollupQuery) {
    return this.run("querying call rollups", () => {
      const { sql, params } = minutesQuery("call_rollups", q);
      return this.stmt(sql)
        .all(...params)
        .map(ROLLUPS.fromRow);
    });
  }

  async instanceStats(q: RollupQuery) {
    return this.run("querying instance stats", () => {
      const { sql, params } = minutesQuery("instance_stats", q);
      return this.stmt(sql)
        .all(...params)
        .map(INSTANCES.fromRow);
    });
  }

  async nodes() {
    return this.run("listing nodes", () => this.stmt("SELECT * FROM nodes ORDER BY node_id").all().map(NODES.fromRow));
  }

  async putModel(row: ModelRow): Promise<Result<void>> {
    return this.run(`recording model ${row.name}`, () => void this.stmt(insertSql(MODELS, 1, "?")).run(...MODELS.params(row)));
  }

  async deleteModels(nodeId: string, names: readonly string[]): Promise<Result<void>> {
    return this.run("deleting model rows", (db) => db.transaction(() => names.forEach((n) => this.stmt("DELETE FROM models WHERE node_id = ? AND name = ?").run(nodeId, n)))());
  }

  async models(nodeId?: string) {
    return this.run("listing models", () => {
      const { sql, params } = modelsQuery(nodeId);
      return this.stmt(sql)
        .all(...params)
        .map(MODELS.fromRow);
    });
  }

  async prune(before: number): Promise<Result<PruneReport>> {
    return this.run("pruning old telemetry", (db) =>
      db.transaction(() => ({
        events: this.stmt(PRUNE_SQL.events).run(before).changes,
        rollups: this.stmt(PRUNE_SQL.rollups).run(before).changes,
        instances: this.stmt(PRUNE_SQL.instances).run(before).changes,
        nodes: this.stmt(PRUNE_SQL.nodes).run(before).changes,
      }))(),
    );
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    this.statements.clear();
    db?.close();
  }
}
