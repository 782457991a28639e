/**
 * The SQLite store (better-sqlite3): users, API keys and the audit log in `<dataDir>/apikeys.db`.
 * WAL mode, synchronous=FULL: every write is durable when its call returns. All statements are
 * prepared once; better-sqlite3 is synchronous, so a write never interleaves with another.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";

export const DB_FILE = "apikeys.db";

const MIGRATIONS = [
  // 1: the first schema.
  `
  CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    sessions_not_before INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    scopes       TEXT NOT NULL,
    owner_id     TEXT,
    owner_name   TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    rotated_at   INTEGER
  ) STRICT;
  CREATE INDEX api_keys_owner ON api_keys (owner_id);
  CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    ts      INTEGER NOT NULL,
    actor   TEXT,
    caller  TEXT,
    action  TEXT NOT NULL,
    target  TEXT,
    ok      INTEGER NOT NULL,
    detail  TEXT
  ) STRICT;
  CREATE INDEX audit_ts ON audit (ts);
  `,
];

/**
 * @typedef {{id: string, username: string, password_hash: string, role: string, created_at: number, updated_at: number, sessions_not_before: number}} UserRow
 * @typedef {{id: string, name: string, secret_hash: string, role: string, scopes: string, owner_id: string|null, owner_name: string|null,
 *   created_at: number, expires_at: number|null, last_used_at: number|null, revoked_at: number|null, rotated_at: number|null}} KeyRow
 * @typedef {{id: number, ts: number, actor: string|null, caller: string|null, action: string, target: string|null, ok: number, detail: string|null}} AuditRow
 */

export class Store {
  /** @param {string} dataDir */
  constructor(dataDir) {
    this.file = path.join(dataDir, DB_FILE);
    // Create the file private before SQLite opens it; its -wal and -shm files take the same mode.
    fs.closeSync(fs.openSync(this.file, "a", 0o600));
    fs.chmodSync(this.file, 0o600);
    const db = new Database(this.file);
    this.db = db;
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    this.migrate();

    const s = (sql) => db.prepare(sql);
    this.q = {
      userById: s("SELECT * FROM users WHERE id = ?"),
      userByName: s("SELECT * FROM users WHERE username = ?"),
      users: s("SELECT * FROM users ORDER BY created_at, username"),
      countAdmins: s("SELECT count(*) AS n FROM users WHERE role = 'admin'"),
      insertUser: s(
        "INSERT INTO users (id, username, password_hash, role, created_at, updated_at) VALUES (@id, @username, @password_hash, @role, @created_at, @created_at)",
      ),
      deleteUser: s("DELETE FROM users WHERE id = ?"),
      setPassword: s("UPDATE users SET password_hash = ?, updated_at = ?, sessions_not_before = ? WHERE id = ?"),
      keyById: s("SELECT * FROM api_keys WHERE id = ?"),
      keyByHash: s("SELECT * FROM api_keys WHERE secret_hash = ?"),
      keys: s("SELECT * FROM api_keys ORDER BY created_at, id"),
      insertKey: s(
        `INSERT INTO api_keys (id, name, secret_hash, role, scopes, owner_id, owner_name, created_at, expires_at)
         VALUES (@id, @name, @secret_hash, @role, @scopes, @owner_id, @owner_name, @created_at, @expires_at)`,
      ),
      revokeKey: s("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"),
      activeKeysOf: s("SELECT id FROM api_keys WHERE owner_id = ? AND revoked_at IS NULL"),
      rotateKey: s("UPDATE api_keys SET secret_hash = ?, rotated_at = ?, expires_at = ? WHERE id = ? AND revoked_at IS NULL"),
      touchKey: s("UPDATE api_keys SET last_used_at = ? WHERE id = ?"),
      insertAudit: s(
        "INSERT INTO audit (ts, actor, caller, action, target, ok, detail) VALUES (@ts, @actor, @caller, @action, @target, @ok, @detail)",
      ),
      audit: s(
        `SELECT * FROM audit WHERE ts >= @since AND (@action IS NULL OR action = @action)
         ORDER BY id DESC LIMIT @limit`,
      ),
      pruneAudit: s("DELETE FROM audit WHERE ts < ?"),
    };
  }

  migrate() {
    const version = this.db.pragma("user_version", { simple: true });
    if (version > MIGRATIONS.length) {
      throw new Error(`${this.file} has schema version ${version}, newer than this plugin knows (${MIGRATIONS.length}); upgrade the plugin`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /**
   * Runs fn in one IMMEDIATE transaction; fn gets this store (the PostgreSQL store hands it one
   * bound to the transaction's connection). fn may be async: every method here answers
   * synchronously, so nothing else runs between its awaits (they are microtasks).
   * @template T @param {(s: Store) => T | Promise<T>} fn @returns {Promise<T>}
   */
  async tx(fn) {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const r = await fn(this);
      this.db.exec("COMMIT");
      return r;
    } catch (e) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      throw e;
    }
  }

  /** @returns {UserRow|undefined} */ userById(id) { return this.q.userById.get(id); }
  /** @returns {UserRow|undefined} */ userByName(name) { return this.q.userByName.get(name); }
  /** @returns {UserRow[]} */ users() { return this.q.users.all(); }
  countAdmins() { return this.q.countAdmins.get().n; }
  insertUser(row) { this.q.insertUser.run(row); }
  deleteUser(id) { return this.q.deleteUser.run(id).changes; }
  setPassword(id, hash, now) { return this.q.setPassword.run(hash, now, now, id).changes; }

  /** @returns {KeyRow|undefined} */ keyById(id) { return this.q.keyById.get(id); }
  /** @returns {KeyRow|undefined} */ keyByHash(hash) { return this.q.keyByHash.get(hash); }
  /** @returns {KeyRow[]} */ keys() { return this.q.keys.all(); }
  insertKey(row) { this.q.insertKey.run(row); }
  revokeKey(id, now) { return this.q.revokeKey.run(now, id).changes; }
  /** @returns {string[]} */ activeKeysOf(ownerId) { return this.q.activeKeysOf.all(ownerId).map((r) => r.id); }
  rotateKey(id, hash, now, expiresAt) { return this.q.rotateKey.run(hash, now, expiresAt, id).changes; }
  touchKey(id, now) { this.q.touchKey.run(now, id); }

  insertAudit(row) { this.q.insertAudit.run(row); }
  /** @returns {AuditRow[]} */ audit({ since = 0, action = null, limit = 100 }) { return this.q.audit.all({ since, action, limit }); }
  pruneAudit(before) { return this.q.pruneAudit.run(before).changes; }

  close() {
    if (this.db.open) this.db.close();
  }
}
