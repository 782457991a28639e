/** The daemon's auth pieces without a daemon: cache and its revocation race, policy, credentials, root token, authenticator. */
import t from "tap";
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BkgError, ErrorCodes } from "@bkg/protocol";
import {
  AuthCache,
  Authenticator,
  authorize,
  authorizeAction,
  authorizeCall,
  credentialFromHeaders,
  credentialFromMetadata,
  credentialShape,
  loadOrCreateRootToken,
  type Principal,
} from "../../../src/auth/index.js";
import { EventBus } from "../../../src/events/index.js";

const principal = (over: Partial<Principal> = {}): Principal => ({ type: "key", id: "key_1", name: "ci", role: "operator", scopes: ["echo.*"], expiresAt: null, ...over });

t.test("AuthCache: ttl, the credential's own expiry, and a clear beats an answer that was in flight", async (t) => {
  const c = new AuthCache(1000);
  const now = 1_000_000;
  c.set("a", principal(), c.generation, now);
  t.ok(c.get("a", now + 999));
  t.notOk(c.get("a", now + 1000), "stale after the ttl");
  c.set("b", principal({ expiresAt: now + 100 }), c.generation, now);
  t.notOk(c.get("b", now + 100), "never beyond the credential's expiry");
  const gen = c.generation;
  c.clear();
  c.set("c", principal(), gen, now);
  t.notOk(c.get("c", now), "an answer whose check began before a clear is not kept");
  const off = new AuthCache(0);
  off.set("d", principal(), off.generation, now);
  t.notOk(off.get("d", now), "ttl 0 caches nothing");
  const small = new AuthCache(1000, 10);
  for (let i = 0; i < 25; i++) small.set(`k${i}`, principal(), small.generation, now);
  t.ok(small.size <= 10, "bounded");
  t.ok(small.get("k24", now), "the newest stay");
});

t.test("AuthCache.shared: one round trip per credential at a time", async (t) => {
  const c = new AuthCache(1000);
  let runs = 0;
  let release!: (p: Principal) => void;
  const run = () => (runs++, new Promise<Principal>((r) => (release = r)));
  const a = c.shared("x", run);
  const b = c.shared("x", run);
  release(principal());
  t.same(await a, await b);
  t.equal(runs, 1);
  c.shared("y", run);
  c.clear();
  void c.shared("y", run);
  t.equal(runs, 3, "after a clear, a new check starts instead of joining the old one");
});

t.test("access policy: role first, then scope; the auth plugin needs admin", async (t) => {
  const k = principal();
  t.doesNotThrow(() => authorizeCall(k, "echo.reverse", "apikeys"));
  t.throws(() => authorizeCall(k, "apikeys.auth.createKey", "apikeys"), { code: ErrorCodes.PermissionDenied, data: { reason: "role", needs: "admin" } });
  t.throws(() => authorizeAction(k, "bkg.plugins.stop"), { code: ErrorCodes.PermissionDenied, data: { reason: "scope", action: "bkg.plugins.stop" } });
  t.throws(() => authorizeAction(principal({ role: "viewer", scopes: ["*"] }), "bkg.plugins.stop"), { data: { reason: "role" } });
  t.doesNotThrow(() => authorizeAction(principal({ role: "viewer", scopes: ["bkg.plugins.*"] }), "bkg.plugins.logs"));
  t.doesNotThrow(() => authorizeAction(principal({ role: "admin", scopes: ["bkg.*"] }), "bkg.keys.create"));
  t.throws(() => authorizeAction(principal({ role: "admin", scopes: ["echo.*"] }), "bkg.keys.create"));
  t.doesNotThrow(() => authorize(principal({ type: "root", role: "admin", scopes: ["*"] }), "apikeys.auth.createKey", "admin"));
});

t.test("credentials: Bearer or X-API-Key, metadata, and shapes", async (t) => {
  t.equal(credentialFromHeaders({ authorization: "Bearer abc.def.ghi" }), "abc.def.ghi");
  t.equal(credentialFromHeaders({ authorization: "bearer   tok " }), "tok");
  t.equal(credentialFromHeaders({ authorization: "Basic dXNlcjpwYXNz" }), undefined, "other schemes are not ours");
  t.equal(credentialFromHeaders({ "x-api-key": "bkg_live_x" }), "bkg_live_x");
  t.equal(credentialFromHeaders({}), undefined);
  t.equal(
    credentialFromMetadata((k) => (k === "x-api-key" ? [Buffer.from("bkg_live_y")] : [])),
    "bkg_live_y",
  );
  t.equal(credentialShape("bkg_live_abc"), "key");
  t.equal(credentialShape("bkg_root_abc"), "root");
  t.equal(credentialShape("aaa.bbb.ccc"), "jwt");
  t.equal(credentialShape("hello world"), undefined);
  t.equal(credentialShape(`bkg_live_${"x".repeat(9000)}`), undefined, "too long");
});

t.test("root token: created once with mode 0600, read back, looser modes fixed, junk refused", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-root-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const a = loadOrCreateRootToken(dir);
  t.ok(a.created);
  t.equal(statSync(a.file).mode & 0o777, 0o600);
  const b = loadOrCreateRootToken(dir);
  t.notOk(b.created);
  t.equal(b.reveal(), a.reveal());
  t.ok(b.matches(a.reveal()));
  t.notOk(b.matches(`${a.reveal()}x`));
  chmodSync(a.file, 0o644);
  t.ok(loadOrCreateRootToken(dir).modeFixed);
  writeFileSync(a.file, "nonsense");
  t.throws(() => loadOrCreateRootToken(dir), /does not hold a root token/);
});

t.test("Authenticator: refusals, fail closed, cache, and revocation events", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-auth-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bus = new EventBus();
  const logger = { warn() {}, debug() {}, info() {} } as never;
  let calls = 0;
  let answer: unknown = { valid: true, principal: { type: "key", id: "key_1", name: "ci", role: "operator", scopes: ["echo.*"] }, expiresAt: null };
  let fail: BkgError | undefined;
  const auth = new Authenticator({
    settings: { plugin: "apikeys", cacheTtlMs: 60_000, validateTimeoutMs: 1000, rootToken: true },
    dataDir: dir,
    bus,
    logger,
    call: async () => {
      calls++;
      if (fail) throw fail;
      return answer;
    },
  });
  t.teardown(() => auth.close());
  const key = `bkg_live_${"a".repeat(43)}`;
  await t.rejects(auth.authenticate(undefined), { code: ErrorCodes.Unauthenticated, data: { reason: "missing" } });
  await t.rejects(auth.authenticate("nonsense"), { data: { reason: "malformed" } });
  t.equal(calls, 0, "shapes that cannot be credentials never reach the plugin");
  t.match(await auth.authenticate(auth.rootToken!.reveal()), { type: "root", role: "admin" });
  t.match(await auth.authenticate(key), { id: "key_1" });
  await auth.authenticate(key);
  t.equal(calls, 1, "the second check is a cache hit");
  let revoked = 0;
  auth.onRevoked(() => revoked++);
  const before = auth.revocations;
  bus.publish({ kind: "plugin", ts: Date.now(), plugin: "apikeys", event: "apikeys.credential.revoked", data: { keyId: "key_1" } });
  t.equal(revoked, 1);
  t.equal(auth.revocations, before + 1, "revocations are counted, for sessions that authenticate across an await");
  answer = { valid: false, reason: "revoked", keyId: "key_1" };
  await t.rejects(auth.authenticate(key), { code: ErrorCodes.Unauthenticated, data: { reason: "revoked" } });
  t.equal(calls, 2, "the revocation emptied the cache");
  fail = new BkgError(ErrorCodes.PluginUnavailable, "plugin apikeys is stopped");
  await t.rejects(auth.authenticate(key), { code: ErrorCodes.PluginUnavailable, data: { reason: "auth_unavailable" } });
  t.match(await auth.authenticate(auth.rootToken!.reveal()), { type: "root" }, "the root token does not need the plugin");
  fail = undefined;
  answer = { valid: true, principal: { type: "key", id: "key_2", role: "superuser", scopes: ["*"] } };
  await t.rejects(auth.authenticate(key), { code: ErrorCodes.Unauthenticated }, "an answer the daemon does not understand is a refusal");
});

t.test("Authenticator.cached: the synchronous part of authenticate; cacheKeyFor hashes once per holder", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-auth-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bus = new EventBus();
  let calls = 0;
  const outcomes: string[] = [];
  const auth = new Authenticator({
    settings: { plugin: "apikeys", cacheTtlMs: 60_000, validateTimeoutMs: 1000, rootToken: true },
    dataDir: dir,
    bus,
    logger: { warn() {}, debug() {}, info() {} } as never,
    onCheck: (o) => outcomes.push(o),
    call: async () => {
      calls++;
      return { valid: true, principal: { type: "key", id: "key_1", name: "ci", role: "operator", scopes: ["*"] }, expiresAt: null };
    },
  });
  t.teardown(() => auth.close());
  const key = `bkg_live_${"b".repeat(43)}`;
  t.throws(() => auth.cached(undefined), { code: ErrorCodes.Unauthenticated, data: { reason: "missing" } });
  t.throws(() => auth.cached("nonsense"), { data: { reason: "malformed" } });
  t.throws(() => auth.cached(`bkg_root_${"x".repeat(43)}`), { data: { reason: "unknown" } });
  t.match(auth.cached(auth.rootToken!.reveal()), { type: "root" }, "the root token needs no plugin");
  t.equal(auth.cached(key), undefined, "not cached yet: only authenticate() can tell");
  t.equal(calls, 0, "cached() never asks the plugin");
  const conn = {};
  const k = auth.cacheKeyFor(conn, key)!;
  t.equal(k, auth.cacheKey(key));
  t.equal(auth.cacheKeyFor(conn, key), k, "the same credential on the same connection: the remembered key");
  t.not(auth.cacheKeyFor(conn, `${key}c`), k, "another credential on it: its own key");
  t.equal(auth.cacheKeyFor(conn, undefined), undefined);
  t.match(await auth.authenticate(key, k), { id: "key_1" });
  t.match(auth.cached(key, k), { id: "key_1" }, "then it is a cache hit, without an await");
  t.match(auth.cached(key), { id: "key_1" }, "with or without the precomputed key");
  t.equal(calls, 1);
  t.same(outcomes, ["refused", "refused", "root", "plugin", "cache", "cache"]);
  bus.publish({ kind: "plugin", ts: Date.now(), plugin: "apikeys", event: "apikeys.credential.revoked", data: { keyId: "key_1" } });
  t.equal(auth.cached(key, k), undefined, "a revocation empties it at once");
});
