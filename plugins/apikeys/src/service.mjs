/**
 * The apikeys logic, free of protocol concerns: users, API keys, sessions and the audit log.
 * Each mutating operation writes its audit entry (ok or not) before it returns or throws.
 */
import { SignJWT, jwtVerify } from "jose";
import { randomBytes } from "node:crypto";
import { BkgError, ErrorCodes } from "@bkg/plugin-sdk";
import { checkGrant } from "./grants.mjs";
import { KEY_PREFIX, KEY_RE, newApiKey, newId, sha256Hex } from "./secrets.mjs";
import { ROLES, USERNAME_PATTERN } from "./schemas.mjs";
import { PasswordCheck } from "./password-check.mjs";
import { LoginThrottle } from "./login-throttle.mjs";

/** A unique violation (a taken username) from either store: SQLite's code, or PostgreSQL's 23505. */
function isUniqueViolation(e) {
  const code = /** @type {any} */ (e)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "23505";
}

export const ISSUER = "bkg-apikeys";
export const AUDIENCE = "bkg";
/** lastUsedAt is written at most this often per key. */
export const TOUCH_INTERVAL_MS = 60_000;
const DAY_MS = 86_400_000;
const BCRYPT_MAX_BYTES = 72;

/** Error codes, as documented in README.md. */
export const Codes = {
  InvalidParams: ErrorCodes.InvalidParams, // -32602: bad params, unknown key/user id (data.reason "not_found"), conflicts (data.reason "conflict")
  Unauthenticated: ErrorCodes.Unauthenticated, // -33005: auth.login with a wrong username or password
  PermissionDenied: ErrorCodes.PermissionDenied, // -33003: a key's role above its owner's
  Overloaded: ErrorCodes.Overloaded, // -33002: auth.login throttled, or too many password hashes in progress (data.retryAfterSeconds)
};

const notFound = (what, ref) => new BkgError(Codes.InvalidParams, `no ${what} "${ref}"`, { reason: "not_found", [what === "key" ? "id" : "user"]: ref });
const conflict = (message, data = {}) => new BkgError(Codes.InvalidParams, message, { reason: "conflict", ...data });

/**
 * @typedef {import("./store.mjs").Store | import("./pg-store.mjs").PgStore} Store
 * @typedef {import("./config.mjs").Config} Config
 * @typedef {{caller?: string, signal?: AbortSignal}} CallInfo
 */

export { readConfig } from "./config.mjs";

const rank = (role) => ROLES.indexOf(role);

/** Drops anything secret-looking from an audit detail, whatever a caller put in it. */
function scrub(v) {
  if (Array.isArray(v)) return v.map(scrub);
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) if (!/password|secret|token|^key$|hash|credential/i.test(k)) out[k] = scrub(x);
    return out;
  }
  if (typeof v === "string" && v.includes(KEY_PREFIX)) return "[redacted]";
  return v;
}

export class AuthService {
  /**
   * @param {{store: Store, jwtSecret: Uint8Array, config: Config, pool: import("./hash-pool.mjs").HashPool,
   *   emit: (event: string, data: unknown) => void, log: (level: string, msg: string, fields?: object) => void, now?: () => number}} deps
   */
  constructor({ store, jwtSecret, config, pool, emit, log, now = Date.now }) {
    this.store = store;
    this.jwtSecret = jwtSecret;
    this.config = config;
    this.emit = emit;
    this.log = log;
    this.now = now;
    this.pool = pool;
    // No username or address may hold more than half the pool, so one attacker cannot fill it alone.
    const throttle = new LoginThrottle(config.loginThrottle, { maxInFlight: Math.max(1, Math.ceil(pool.capacity / 2)), now });
    this.passwords = new PasswordCheck({ pool, throttle, bcryptRounds: config.bcryptRounds });
  }

  // ---- audit --------------------------------------------------------------------------

  /** @param {{actor?: string|null, caller?: string|null, action: string, target?: string|null, ok: boolean, detail?: object}} e */
  async audit(e) {
    await this.store.insertAudit({
      ts: this.now(),
      actor: e.actor ?? null,
      caller: e.caller ?? null,
      action: e.action,
      target: e.target ?? null,
      ok: e.ok ? 1 : 0,
      detail: e.detail === undefined ? null : JSON.stringify(scrub(e.detail)),
    });
  }

  /**
   * Runs a mutating operation and audits its outcome. `run` returns {result, target, detail}.
   * @template T
   * @param {string} action @param {{actor?: string}} params @param {CallInfo} call
   * @param {string|null} target what the call names (refined by run's answer)
   * @param {() => Promise<{result: T, target?: string|null, detail?: object}> | {result: T, target?: string|null, detail?: object}} run
   * @returns {Promise<T>}
   */
  async audited(action, params, call, target, run) {
    const base = { actor: params.actor, caller: call.caller, action };
    try {
      const out = await run();
      await this.audit({ ...base, target: out.target ?? target, ok: true, detail: out.detail });
      return out.result;
    } catch (e) {
      const err = /** @type {BkgError} */ (e);
      await this.audit({ ...base, target, ok: false, detail: { error: err.message, code: err.code ?? null } });
      throw e;
    }
  }

  async auditEntries({ limit = 100, since = 0, action } = {}) {
    const entries = (await this.store.audit({ limit, since, action: action ?? null })).map((r) => ({
      id: r.id,
      ts: r.ts,
      who: r.actor ?? r.caller ?? null,
      actor: r.actor,
      caller: r.caller,
      action: r.action,
      target: r.target,
      ok: r.ok === 1,
      detail: r.detail === null ? null : JSON.parse(r.detail),
    }));
    return { entries };
  }

  async pruneAudit() {
    const n = await this.store.pruneAudit(this.now() - this.config.auditRetentionDays * DAY_MS);
    if (n) this.log("info", `pruned ${n} audit entries older than ${this.config.auditRetentionDays} days`);
  }

  // ---- users --------------------------------------------------------------------------

  /** @param {string} ref a user id or a username */
  async resolveUser(ref, store = this.store) {
    return (await store.userById(ref)) ?? (await store.userByName(ref));
  }

  static userView(u) {
    return { id: u.id, username: u.username, role: u.role, createdAt: u.created_at, updatedAt: u.updated_at };
  }

  checkPassword(password) {
    if (Buffer.byteLength(password, "utf8") > BCRYPT_MAX_BYTES) {
      throw new BkgError(Codes.InvalidParams, `password must be at most ${BCRYPT_MAX_BYTES} bytes (bcrypt ignores the rest)`, { reason: "invalid", field: "password" });
    }
  }

  /** Creates a user without auditing; the callers audit. */
  async insertUser({ username, password, role }) {
    if (!new RegExp(USERNAME_PATTERN, "u").test(username)) throw new BkgError(Codes.InvalidParams, `username must match ${USERNAME_PATTERN}`, { reason: "invalid", field: "username" });
    if (/^usr_/i.test(username)) throw new BkgError(Codes.InvalidParams, 'usernames may not start with "usr_" (the prefix of user ids)', { reason: "invalid", field: "username" });
    this.checkPassword(password);
    if (await this.store.userByName(username)) throw conflict(`username "${username}" is taken`, { field: "username" });
    const hash = await this.pool.hash(password, this.config.bcryptRounds);
    const now = this.now();
    const row = { id: newId("usr"), username, password_hash: hash, role, created_at: now };
    try {
      await this.store.insertUser(row);
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`username "${username}" is taken`, { field: "username" });
      throw e;
    }
    return AuthService.userView({ ...row, updated_at: now });
  }

  createUser(params, call) {
    return this.audited("auth.createUser", params, call, params.username, async () => {
      checkGrant(params.grantor, params.role, ["*"], `user "${params.username}"`);
      const user = await this.insertUser(params);
      return { result: user, target: user.id, detail: { username: user.username, role: user.role } };
    });
  }

  async listUsers() {
    return { users: (await this.store.users()).map(AuthService.userView) };
  }

  deleteUser(params, call) {
    const ref = params.id ?? params.username;
    return this.audited("auth.deleteUser", params, call, ref, async () => {
      const now = this.now();
      const { user, revoked } = await this.store.tx(async (s) => {
        const user = await this.resolveUser(ref, s);
        if (!user) throw notFound("user", ref);
        if (user.role === "admin" && (await s.countAdmins()) <= 1) throw conflict(`"${user.username}" is the last admin; create another admin first`);
        const revoked = await s.activeKeysOf(user.id);
        for (const id of revoked) await s.revokeKey(id, now);
        await s.deleteUser(user.id);
        return { user, revoked };
      });
      for (const keyId of revoked) this.emit("credential.revoked", { keyId, reason: "owner deleted" });
      this.emit("credential.revoked", { userId: user.id, reason: "user deleted" });
      return {
        result: { id: user.id, username: user.username, revokedKeys: revoked },
        target: user.id,
        detail: { username: user.username, revokedKeys: revoked },
      };
    });
  }

  setPassword(params, call) {
    const ref = params.id ?? params.username;
    return this.audited("auth.setPassword", params, call, ref, async () => {
      this.checkPassword(params.password);
      const user = await this.resolveUser(ref);
      if (!user) throw notFound("user", ref);
      checkGrant(params.grantor, user.role, ["*"], `a password for "${user.username}"`);
      const hash = await this.pool.hash(params.password, this.config.bcryptRounds);
      const now = this.now();
      if (!(await this.store.setPassword(user.id, hash, now))) throw notFound("user", ref);
      this.emit("credential.revoked", { userId: user.id, reason: "password changed" });
      return { result: { id: user.id, username: user.username, updatedAt: now, sessionsRevoked: true }, target: user.id, detail: { username: user.username } };
    });
  }

  /** Creates config.bootstrapAdmin when no admin exists. Never throws: a bad config is logged. */
  async bootstrap() {
    const b = this.config.bootstrapAdmin;
    if (b === undefined) {
      if ((await this.store.countAdmins()) === 0) this.log("warn", "no admin user exists and config.bootstrapAdmin is not set; see plugins/apikeys/README.md");
      return;
    }
    if ((await this.store.countAdmins()) > 0) return;
    if (!b || typeof b !== "object" || typeof b.username !== "string" || typeof b.password !== "string" || [...b.password].length < 8) {
      this.log("error", "config.bootstrapAdmin must be {username, password} with a password of 8 characters or more; no admin created");
      return;
    }
    try {
      const user = await this.insertUser({ username: b.username, password: b.password, role: "admin" });
      await this.audit({ actor: "system", action: "bootstrap.admin", target: user.id, ok: true, detail: { username: user.username } });
      this.log("info", `created the bootstrap admin "${user.username}"; change its password with auth.setPassword and remove config.bootstrapAdmin`);
    } catch (e) {
      await this.audit({ actor: "system", action: "bootstrap.admin", target: b.username, ok: false, detail: { error: /** @type {Error} */ (e).message } }).catch(() => undefined);
      this.log("error", `could not create the bootstrap admin: ${/** @type {Error} */ (e).message}`);
    }
  }

  // ---- sessions -----------------------------------------------------------------------

  /**
   * Exchanges a username and password for a session JWT. `source` is the address the attempt
   * came from (the daemon passes the HTTP client's); without it, the caller stands in for it.
   * Throttled or refused attempts fail with -33002 and data.retryAfterSeconds; see login-throttle.mjs.
   */
  async login({ username, password, source }, call) {
    const user = await this.store.userByName(username);
    const from = source ?? call.caller ?? "unknown";
    const base = { actor: username, caller: call.caller, action: "auth.login", target: user?.id ?? null };
    // Called synchronously by the throttle; the audit row is written in the background.
    const onRefused = (/** @type {BkgError} */ err) =>
      void this.audit({ ...base, ok: false, detail: { ...(/** @type {object} */ (err.data)), source: from } }).catch((e) => this.log("error", `could not write an audit entry: ${e.message}`));
    const match = await this.passwords.check({ username, password, source: from, hash: user?.password_hash, signal: call.signal }, onRefused);
    if (!match || !user) {
      await this.audit({ ...base, ok: false, detail: { reason: user ? "wrong password" : "unknown user", source: from } });
      throw new BkgError(Codes.Unauthenticated, "invalid username or password");
    }
    const now = this.now();
    const exp = Math.floor(now / 1000 + this.config.sessionTtlHours * 3600);
    // iat has one-second resolution; iat_ms lets a password change end the sessions issued in its own second.
    const token = await new SignJWT({ name: user.username, role: user.role, iat_ms: now })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(user.id)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(exp)
      .setJti(randomBytes(12).toString("base64url"))
      .sign(this.jwtSecret);
    await this.audit({ ...base, ok: true, detail: { expiresAt: exp * 1000, source: from } });
    return { token, expiresAt: exp * 1000, user: { id: user.id, username: user.username, role: user.role } };
  }

  /** @param {{credential: string}} p */
  async validate({ credential }) {
    const c = credential.trim().replace(/^bearer\s+/i, "");
    if (c.startsWith(KEY_PREFIX)) return this.validateKey(c);
    if (c.split(".").length === 3) return this.validateJwt(c);
    return { valid: false, reason: "malformed", detail: "neither an API key (bkg_live_...) nor a JWT" };
  }

  async validateKey(secret) {
    if (!KEY_RE.test(secret)) return { valid: false, type: "key", reason: "malformed", detail: "an API key is bkg_live_ and 43 base64url characters" };
    const row = await this.store.keyByHash(sha256Hex(secret));
    if (!row) return { valid: false, type: "key", reason: "unknown", detail: "no such key (never issued, rotated or deleted)" };
    if (row.revoked_at !== null) return { valid: false, type: "key", reason: "revoked", keyId: row.id, detail: `key ${row.id} was revoked` };
    const now = this.now();
    if (row.expires_at !== null && now >= row.expires_at) return { valid: false, type: "key", reason: "expired", keyId: row.id, detail: `key ${row.id} expired` };
    if (row.last_used_at === null || now - row.last_used_at >= TOUCH_INTERVAL_MS) await this.store.touchKey(row.id, now);
    return {
      valid: true,
      principal: { type: "key", id: row.id, name: row.name, role: row.role, scopes: JSON.parse(row.scopes), owner: row.owner_id },
      expiresAt: row.expires_at,
    };
  }

  async validateJwt(token) {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.jwtSecret, { algorithms: ["HS256"], issuer: ISSUER, audience: AUDIENCE, requiredClaims: ["sub", "exp", "iat"] }));
    } catch (e) {
      const code = /** @type {any} */ (e).code;
      const reason =
        code === "ERR_JWT_EXPIRED" ? "expired"
        : code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" || code === "ERR_JOSE_ALG_NOT_ALLOWED" ? "bad_signature"
        : code === "ERR_JWT_CLAIM_VALIDATION_FAILED" ? "invalid_claims"
        : "malformed";
      return { valid: false, type: "user", reason, detail: /** @type {Error} */ (e).message };
    }
    const user = await this.store.userById(String(payload.sub));
    if (!user) return { valid: false, type: "user", reason: "unknown", detail: "the session's user no longer exists" };
    const issuedMs = typeof payload.iat_ms === "number" ? payload.iat_ms : /** @type {number} */ (payload.iat) * 1000;
    if (issuedMs <= user.sessions_not_before) {
      return { valid: false, type: "user", reason: "revoked", detail: "the user's sessions were revoked (password changed)" };
    }
    return {
      valid: true,
      principal: { type: "user", id: user.id, name: user.username, role: user.role, scopes: ["*"] },
      expiresAt: /** @type {number} */ (payload.exp) * 1000,
    };
  }

  // ---- API keys -----------------------------------------------------------------------

  static keyView(r) {
    return {
      id: r.id,
      name: r.name,
      role: r.role,
      scopes: JSON.parse(r.scopes),
      owner: r.owner_id === null ? null : { id: r.owner_id, username: r.owner_name },
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      lastUsedAt: r.last_used_at,
      revokedAt: r.revoked_at,
      rotatedAt: r.rotated_at,
    };
  }

  createKey(params, call) {
    return this.audited("auth.createKey", params, call, null, async () => {
      const { name, role, scopes, expiresInDays, owner } = params;
      checkGrant(params.grantor, role, scopes, `key "${name}"`);
      let ownerRow = null;
      if (owner !== undefined) {
        ownerRow = await this.resolveUser(owner);
        if (!ownerRow) throw notFound("user", owner);
        if (rank(role) > rank(ownerRow.role)) {
          throw new BkgError(Codes.PermissionDenied, `a key's role may not exceed its owner's: "${ownerRow.username}" is ${ownerRow.role}, the key asks for ${role}`, {
            reason: "role_exceeds_owner",
          });
        }
      }
      const now = this.now();
      const secret = newApiKey();
      const row = {
        id: newId("key"),
        name,
        secret_hash: sha256Hex(secret),
        role,
        scopes: JSON.stringify([...new Set(scopes)]),
        owner_id: ownerRow?.id ?? null,
        owner_name: ownerRow?.username ?? null,
        created_at: now,
        expires_at: expiresInDays === undefined ? null : Math.round(now + expiresInDays * DAY_MS),
      };
      await this.store.insertKey(row);
      const view = AuthService.keyView({ ...row, last_used_at: null, revoked_at: null, rotated_at: null });
      return {
        result: { ...view, key: secret },
        target: row.id,
        detail: { name, role, scopes: view.scopes, owner: row.owner_id, expiresAt: row.expires_at },
      };
    });
  }

  async listKeys({ owner, includeRevoked = true } = {}) {
    let rows = await this.store.keys();
    if (owner !== undefined) {
      const u = await this.resolveUser(owner);
      rows = rows.filter((r) => r.owner_id === (u?.id ?? owner));
    }
    if (!includeRevoked) rows = rows.filter((r) => r.revoked_at === null);
    return { keys: rows.map(AuthService.keyView) };
  }

  revokeKey(params, call) {
    return this.audited("auth.revokeKey", params, call, params.id, async () => {
      const row = await this.store.keyById(params.id);
      if (!row) throw notFound("key", params.id);
      if (row.revoked_at !== null) {
        return { result: { ...AuthService.keyView(row), alreadyRevoked: true }, detail: { alreadyRevoked: true, reason: params.reason } };
      }
      const now = this.now();
      await this.store.revokeKey(row.id, now);
      this.emit("credential.revoked", { keyId: row.id, reason: "revoked" });
      return { result: { ...AuthService.keyView({ ...row, revoked_at: now }), alreadyRevoked: false }, detail: { name: row.name, reason: params.reason } };
    });
  }

  rotateKey(params, call) {
    return this.audited("auth.rotateKey", params, call, params.id, async () => {
      const row = await this.store.keyById(params.id);
      if (!row) throw notFound("key", params.id);
      if (row.revoked_at !== null) throw conflict(`key ${row.id} is revoked; create a new key instead`, { id: row.id });
      checkGrant(params.grantor, row.role, JSON.parse(row.scopes), `key "${row.name}" (${row.id})`);
      const now = this.now();
      const expiresAt = params.expiresInDays === undefined ? row.expires_at : Math.round(now + params.expiresInDays * DAY_MS);
      if (expiresAt !== null && expiresAt <= now) throw conflict(`key ${row.id} has expired; pass expiresInDays to rotate it with a new lifetime`, { id: row.id });
      const secret = newApiKey();
      if (!(await this.store.rotateKey(row.id, sha256Hex(secret), now, expiresAt))) throw conflict(`key ${row.id} was revoked meanwhile`, { id: row.id });
      this.emit("credential.revoked", { keyId: row.id, reason: "rotated" });
      const view = AuthService.keyView({ ...row, rotated_at: now, expires_at: expiresAt });
      return { result: { ...view, key: secret }, detail: { name: row.name, expiresAt } };
    });
  }
}
