#!/usr/bin/env node
/**
 * The apikeys plugin: users, API keys, sessions (JWT) and an audit log for bkg.
 * Plain Node.js (ESM, no build step) on @bkg/plugin-sdk. See README.md for the methods,
 * error codes and configuration.
 */
import { BkgError, ErrorCodes, definePlugin } from "@bkg/plugin-sdk";
import { loadOrCreateJwtSecret } from "./src/secrets.mjs";
import { Store } from "./src/store.mjs";
import { PgStore } from "./src/pg-store.mjs";
import { AuthService } from "./src/service.mjs";
import { readConfig } from "./src/config.mjs";
import { HashPool } from "./src/hash-pool.mjs";
import { check, schemas } from "./src/schemas.mjs";

export const NAME = "apikeys";
export const VERSION = "1.0.0";

/** @type {AuthService | undefined} */
let service;
/** @type {Store | PgStore | undefined} */
let store;
/** @type {HashPool | undefined} */
let pool;
/** Resolves once activate has opened the store; calls wait for it. */
let resolveReady, rejectReady;
const ready = new Promise((res, rej) => ((resolveReady = res), (rejectReady = rej)));
ready.catch(() => {});
let stopping = false;
/** In-flight calls, so deactivate lets them finish before closing the database. */
const inflight = new Set();
let pruneTimer;

/**
 * One method: checks params against its schema (the daemon already did; this guards direct use),
 * waits for activation, runs, and tracks the call for a clean shutdown.
 * @param {keyof typeof schemas} name
 * @param {string} description
 * @param {(svc: AuthService, params: any, call: {caller?: string, signal: AbortSignal}) => unknown} fn
 */
function method(name, description, fn) {
  const schema = schemas[name];
  return {
    description,
    params: schema,
    handler: async (params, ctx) => {
      const problems = check(schema, params ?? {});
      if (problems.length) {
        throw new BkgError(ErrorCodes.InvalidParams, `invalid params for ${NAME}.${name}: ${problems.map((p) => `${p.path || "/"} ${p.message}`).join("; ")}`, { errors: problems });
      }
      if (stopping) throw new BkgError(ErrorCodes.PluginError, "apikeys is shutting down");
      const svc = service ?? (await ready);
      const p = Promise.resolve().then(() => fn(svc, params, { caller: ctx.caller, signal: ctx.signal }));
      inflight.add(p);
      try {
        return await p;
      } finally {
        inflight.delete(p);
      }
    },
  };
}

export const plugin = definePlugin({
  name: NAME,
  version: VERSION,
  events: ["credential.revoked"],
  methods: {
    "auth.login": method(
      "auth.login",
      "Checks a username and password; returns a session JWT {token, expiresAt, user}. Wrong credentials: -33005. Throttled, or too many logins in progress: -33002 with data.retryAfterSeconds.",
      (s, p, c) => s.login(p, c),
    ),
    "auth.validate": method(
      "auth.validate",
      "Checks an API key or a session JWT: {valid: true, principal {type, id, name, role, scopes}, expiresAt} or {valid: false, reason}.",
      (s, p) => s.validate(p),
    ),
    "auth.createKey": method("auth.createKey", "Creates an API key; the secret is in the answer's `key` and nowhere else, ever.", (s, p, c) => s.createKey(p, c)),
    "auth.listKeys": method("auth.listKeys", "Lists API keys (metadata only, never secrets).", (s, p) => s.listKeys(p)),
    "auth.revokeKey": method("auth.revokeKey", "Revokes an API key at once; emits credential.revoked {keyId}.", (s, p, c) => s.revokeKey(p, c)),
    "auth.rotateKey": method("auth.rotateKey", "Gives a key a new secret (same id, role and scopes); the old secret stops working; emits credential.revoked {keyId}.", (s, p, c) =>
      s.rotateKey(p, c),
    ),
    "auth.createUser": method("auth.createUser", "Creates a user (password of 8 characters or more; role admin, operator or viewer).", (s, p, c) => s.createUser(p, c)),
    "auth.listUsers": method("auth.listUsers", "Lists users (never password hashes).", (s) => s.listUsers()),
    "auth.deleteUser": method("auth.deleteUser", "Deletes a user by id or username and revokes their keys and sessions; the last admin cannot be deleted.", (s, p, c) =>
      s.deleteUser(p, c),
    ),
    "auth.setPassword": method("auth.setPassword", "Sets a user's password and ends their existing sessions.", (s, p, c) => s.setPassword(p, c)),
    "auth.audit": method("auth.audit", "Reads the audit log, newest first: {entries: [{id, ts, who, action, target, ok, detail}]}.", (s, p) => s.auditEntries(p)),
  },
  async activate(ctx) {
    try {
      const config = readConfig(ctx.config);
      if (!ctx.dataDir) throw new Error("no data folder (initialize's plugin.dataDir and BKG_DATA_DIR are both empty)");
      // The daemon's PostgreSQL store when it has one (given only to the auth plugin), so every
      // daemon sharing it shares users, keys, the audit log and the session key; else SQLite here.
      const shared = process.env.BKG_STORAGE_URL;
      let jwtSecret;
      if (shared && /^postgres(ql)?:\/\//.test(shared)) {
        const pgStore = new PgStore(shared);
        store = pgStore;
        await pgStore.migrate();
        jwtSecret = await pgStore.jwtSecret();
        ctx.log("info", `users, keys and sessions are in PostgreSQL (${pgStore.file}), shared with every daemon on it`);
      } else {
        store = new Store(ctx.dataDir);
        jwtSecret = loadOrCreateJwtSecret(ctx.dataDir, ctx.log);
      }
      pool = new HashPool({ threads: config.hashThreads, queue: config.hashQueue });
      const svc = new AuthService({ store, jwtSecret, config, pool, emit: ctx.emit, log: ctx.log });
      // Published only once the bootstrap admin exists: calls arriving meanwhile wait on `ready`
      // (bootstrap hashes in a worker thread, which takes a moment to start).
      await svc.bootstrap();
      await svc.pruneAudit();
      service = svc;
      pruneTimer = setInterval(() => void service?.pruneAudit().catch((e) => ctx.log("error", `could not prune the audit log: ${e.message}`)), 6 * 3600_000);
      pruneTimer.unref();
      resolveReady(service);
    } catch (e) {
      rejectReady(e);
      throw e;
    }
  },
  async deactivate() {
    stopping = true;
    clearInterval(pruneTimer);
    await Promise.allSettled([...inflight]);
    await pool?.close();
    await store?.close();
  },
});

plugin.serve();
