/**
 * The PostgreSQL driver (pg): a small pool, multi-row statements so a flush is a handful of
 * round trips. Several daemons may share one database: each writes its own rows (node and run
 * in every key), and migrations take an advisory lock so only one daemon migrates at a time.
 */
import pg from "pg";
import { latestVersion, migrationsFor, newerSchemaError, SCHEMA_TABLE_SQL } from "./migrations.js";
import { EVENTS, eventsQuery, INSTANCES, insertSql, minutesQuery, NODES, numbered, PRUNE_SQL, ROLLUPS, type TableSpec, MODELS, modelsQuery } from "./sql.js";
import { fail, ok, type Batch, type EventQuery, type MigrationReport, type PruneReport, type Result, type RollupQuery, type Store, type ModelRow } from "./store.js";

/** Rows per INSERT statement (PostgreSQL allows 65535 parameters per statement). */
const ROWS_PER_STATEMENT = 500;
/** Key of the advisory lock held while migrating ("bkg" in ASCII). */
const MIGRATION_LOCK = 0x626b67;
const INT8_OID = 20;

/** The URL without its password, for messages and status output. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ":***@");
  }
}

export class PostgresStore implements Store {
  readonly driver = "postgres" as const;
  readonly location: string;
  private pool?: pg.Pool;

  private constructor(url: string) {
    this.location = redactUrl(url);
    this.pool = new pg.Pool({
      connectionString: url,
      max: 4,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 5_000,
      // Epoch-millisecond BIGINTs as numbers (exact below 2^53), not strings.
      types: { getTypeParser: ((oid: number, format?: string) => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format as "text"))) as typeof pg.types.getTypeParser },
    });
    // An idle client losing its connection must not crash the daemon; the next query reports it.
    this.pool.on("error", () => undefined);
  }

  /** Creates the pool and checks that the server answers. */
  static async open(url: string): Promise<Result<PostgresStore>> {
    const s = new PostgresStore(url);
    const r = await s.run("connecting", (c) => c.query("SELECT 1"));
    if (!r.ok) {
      await s.close();
      return fail(`${r.error}; check storage.url (BKG_STORAGE_URL) and that the server is running and reachable`);
    }
    return ok(s);
  }

  private async run<T>(what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<Result<T>> {
    if (!this.pool) return fail(`the store ${this.location} is closed`);
    let client: pg.PoolClient | undefined;
    try {
      client = await this.pool.connect();
      return ok(await fn(client));
    } catch (e) {
      return fail(`${what} failed on ${this.location}: ${(e as Error).message}`);
    } finally {
      client?.release();
    }
  }

  private tx<T>(what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<Result<T>> {
    return this.run(what, async (c) => {
      await c.query("BEGIN");
      try {
        const v = await fn(c);
        await c.query("COMMIT");
        return v;
      } catch (e) {
        await c.query("ROLLBACK").catch(() => undefined);
        throw e;
      }
    });
  }

  async schemaVersion(): Promise<Result<number>> {
    return this.run("reading the schema version", async (c) => {
      await c.query(SCHEMA_TABLE_SQL);
      return Number((await c.query("SELECT COALESCE(MAX(version), 0) AS v FROM bkg_schema")).rows[0].v);
    });
  }

  async migrate(): Promise<Result<MigrationReport>> {
    const known = latestVersion("postgres");
    const r = await this.tx("migrating", async (c): Promise<Result<MigrationReport>> => {
      await c.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
      await c.query(SCHEMA_TABLE_SQL);
      const from = Number((await c.query("SELECT COALESCE(MAX(version), 0) AS v FROM bkg_schema")).rows[0].v);
      if (from > known) return fail(newerSchemaError(this.location, from, known));
      const applied: string[] = [];
      for (const m of migrationsFor("postgres").filter((m) => m.version > from)) {
        await c.query(m.sql);
        await c.query("INSERT INTO bkg_schema (version, name, applied_at) VALUES ($1, $2, $3)", [m.version, m.name, Date.now()]);
        applied.push(`${String(m.version).padStart(3, "0")}_${m.name}`);
      }
      return ok({ from, to: Math.max(from, known), applied });
    });
    return r.ok ? r.value : r;
  }

  async write(batch: Batch): Promise<Result<void>> {
    const put = async <T>(c: pg.PoolClient, spec: TableSpec<T>, rows: readonly T[]) => {
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
        await c.query(
          insertSql(spec, chunk.length, "$"),
          chunk.flatMap((r) => spec.params(r)),
        );
      }
    };
    return this.tx("writing a telemetry batch", async (c) => {
      if (batch.node) await put(c, NODES, [batch.node]);
      await put(c, EVENTS, batch.events);
      await put(c, ROLLUPS, batch.rollups);
      await put(c, INSTANCES, batch.instances);
    });
  }

  async events(q: EventQuery) {
    const { sql, params } = eventsQuery(q);
    return this.run("querying events", async (c) => (await c.query(numbered(sql), params)).rows.map(EVENTS.fromRow).reverse());
  }

  async rollups(q: RollupQuery) {
    const { sql, params } = minutesQuery("call_rollups", q);
    return this.run("querying call rollups", async (c) => (await c.query(numbered(sql), params)).rows.map(ROLLUPS.fromRow));
  }

  async instanceStats(q: RollupQuery) {
    const { sql, params } = minutesQuery("instance_stats", q);
    return this.run("querying instance stats", async (c) => (await c.query(numbered(sql), params)).rows.map(INSTANCES.fromRow));
  }

  async nodes() {
    return this.run("listing nodes", async (c) => (await c.query("SELECT * FROM nodes ORDER BY node_id")).rows.map(NODES.fromRow));
  }

  async putModel(row: ModelRow): Promise<Result<void>> {
    return this.run(`recording model ${row.name}`, async (c) => void (await c.query(insertSql(MODELS, 1, "$"), MODELS.params(row))));
  }

  async deleteModels(nodeId: string, names: readonly string[]): Promise<Result<void>> {
    return this.run("deleting model rows", async (c) => void (await c.query("DELETE FROM models WHERE node_id = $1 AND name = ANY($2)", [nodeId, [...names]])));
  }

  async models(nodeId?: string) {
    const { sql, params } = modelsQuery(nodeId);
    return this.run("listing models", async (c) => (await c.query(numbered(sql), params)).rows.map(MODELS.fromRow));
  }

  async prune(before: number): Promise<Result<PruneReport>> {
    return this.tx("pruning old telemetry", async (c) => {
      const del = async (sql: string) => (await c.query(numbered(sql), [before])).rowCount ?? 0;
      return { events: await del(PRUNE_SQL.events), rollups: await del(PRUNE_SQL.rollups), instances: await del(PRUNE_SQL.instances), nodes: await del(PRUNE_SQL.nodes) };
    });
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end().catch(() => undefined);
  }
}
