/**
 * The PostgreSQL store: users, API keys, the audit log and the session signing key in the
 * daemon's shared database (the daemon hands the auth plugin BKG_STORAGE_URL when its storage is
 * PostgreSQL), so every daemon of a cluster sees the same users and keys and signs sessions with
 * the same key. Same methods as the SQLite store (store.mjs), async. Tables are prefixed apikeys_.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

/** The tables, created under an advisory lock so several daemons may start at once. */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS apikeys_users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    sessions_not_before BIGINT NOT NULL DEFAULT 0
  );
  CREATE UNIQUE INDEX IF NOT EXISTS apikeys_users_username ON apikeys_users (lower(username));
  CREATE TABLE IF NOT EXISTS apikeys_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    scopes       TEXT NOT NULL,
    owner_id     TEXT,
    owner_name   TEXT,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    rotated_at   BIGINT
  );
  CREATE INDEX IF NOT EXISTS apikeys_keys_owner ON apikeys_keys (owner_id);
  CREATE TABLE IF NOT EXISTS apikeys_audit (
    id      BIGSERIAL PRIMARY KEY,
    ts      BIGINT NOT NULL,
    actor   TEXT,
    caller  TEXT,
    action  TEXT NOT NULL,
    target  TEXT,
    ok      INTEGER NOT NULL,
    detail  TEXT
  );
  CREATE INDEX IF NOT EXISTS apikeys_audit_ts ON apikeys_audit (ts);
  CREATE TABLE IF NOT EXISTS apikeys_secrets (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
  );
`;

// BIGINT (oid 20) as a JS number: epoch milliseconds and counts fit.
const types = { getTypeParser: (oid, format) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format)) };

/** Runs queries on a pool, or on one client inside a transaction. */
class Queries {
  /** @param {{query: (text: string, values?: unknown[]) => Promise<{rows: any[], rowCount: number|null}>}} db */
  constructor(db) {
    this.db = db;
  }
  async one(sql, values) { return (await this.db.query(sql, values)).rows[0]; }
  async all(sql, values) { return (await this.db.query(sql, values)).rows; }
  async run(sql, values) { return (await this.db.query(sql, values)).rowCount ?? 0; }

  userById(id) { return this.one("SELECT * FROM apikeys_users WHERE id = $1", [id]); }
  userByName(name) { return this.one("SELECT * FROM apikeys_users WHERE lower(username) = lower($1)", [name]); }
  users() { return this.all("SELECT * FROM apikeys_users ORDER BY created_at, username"); }
  async countAdmins() { return (await this.one("SELECT count(*) AS n FROM apikeys_users WHERE role = 'admin'")).n; }
  insertUser(r) {
    return this.run("INSERT INTO apikeys_users (id, username, password_hash, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)", [r.id, r.username, r.password_hash, r.role, r.created_at]);
  }
  deleteUser(id) { return this.run("DELETE FROM apikeys_users WHERE id = $1", [id]); }
  setPassword(id, hash, now) { return this.run("UPDATE apikeys_users SET password_hash = $1, updated_at = $2, sessions_not_before = $2 WHERE id = $3", [hash, now, id]); }

  keyById(id) { return this.one("SELECT * FROM apikeys_keys WHERE id = $1", [id]); }
  keyByHash(hash) { return this.one("SELECT * FROM apikeys_keys WHERE secret_hash = $1", [hash]); }
  keys() { return this.all("SELECT * FROM apikeys_keys ORDER BY created_at, id"); }
  insertKey(r) {
    return this.run(
      `INSERT INTO apikeys_keys (id, name, secret_hash, role, scopes, owner_id, owner_name, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [r.id, r.name, r.secret_hash, r.role, r.scopes, r.owner_id, r.owner_name, r.created_at, r.expires_at],
    );
  }
  revokeKey(id, now) { return this.run("UPDATE apikeys_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", [now, id]); }
  async activeKeysOf(ownerId) { return (await this.all("SELECT id FROM apikeys_keys WHERE owner_id = $1 AND revoked_at IS NULL", [ownerId])).map((r) => r.id); }
  rotateKey(id, hash, now, expiresAt) {
    return this.run("UPDATE apikeys_keys SET secret_hash = $1, rotated_at = $2, expires_at = $3 WHERE id = $4 AND revoked_at IS NULL", [hash, now, expiresAt, id]);
  }
  touchKey(id, now) { return this.run("UPDATE apikeys_keys SET last_used_at = $1 WHERE id = $2", [now, id]); }

  insertAudit(r) {
    return this.run("INSERT INTO apikeys_audit (ts, actor, caller, action, target, ok, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)", [r.ts, r.actor, r.caller, r.action, r.target, r.ok, r.detail]);
  }
  audit({ since = 0, action = null, limit = 100 }) {
    return this.all("SELECT * FROM apikeys_audit WHERE ts >= $1 AND ($2::text IS NULL OR action = $2) ORDER BY id DESC LIMIT $3", [since, action, limit]);
  }
  pruneAudit(before) { return this.run("DELETE FROM apikeys_audit WHERE ts < $1", [before]); }
}

export class PgStore extends Queries {
  /** @param {string} url */
  constructor(url) {
    const pool = new pg.Pool({ connectionString: url, max: 4, types });
    super(pool);
    this.pool = pool;
    // Where the data is, for log lines: the URL without its password.
    this.file = url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
    // An idle client's error (the server restarted) must not crash the plugin; the next query reconnects.
    pool.on("error", () => undefined);
  }

  /** Creates the tables (idempotent; one daemon at a time). */
  async migrate() {
    await this.tx(async (q) => {
      await q.db.query("SELECT pg_advisory_xact_lock(hashtext('bkg.apikeys.schema'))");
      await q.db.query(SCHEMA);
    });
  }

  /**
   * Runs fn in one transaction on one connection; fn gets the queries bound to it.
   * @template T @param {(q: Queries) => Promise<T>} fn @returns {Promise<T>}
   */
  async tx(fn) {
    const client = await this.pool.connect();
    const q = new Queries(client);
    try {
      await client.query("BEGIN");
      const r = await fn(q);
      await client.query("COMMIT");
      return r;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /** The HS256 session key every daemon shares: made once (first writer wins), then read. */
  async jwtSecret() {
    await this.run("INSERT INTO apikeys_secrets (name, value) VALUES ('jwt', $1) ON CONFLICT (name) DO NOTHING", [randomBytes(32)]);
    const row = await this.one("SELECT value FROM apikeys_secrets WHERE name = 'jwt'");
    return new Uint8Array(row.value);
  }

  async close() {
    await this.pool.end().catch(() => undefined);
  }
}
