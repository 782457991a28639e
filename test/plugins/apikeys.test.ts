/**
 * The apikeys plugin as a real process: spawned with the BKG environment and a temp data folder,
 * spoken to with the protocol directly (Content-Length framing via @bkg/protocol).
 */
import t from "tap";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Ajv from "ajv";
import { Plugin, pluginDir } from "../helpers/apikeys-plugin.js";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const manifest = JSON.parse(readFileSync(path.join(repo, "manifests/apikeys.json"), "utf8"));
// better-sqlite3 as the plugin itself resolves it.
const Database = createRequire(path.join(pluginDir, "package.json"))("better-sqlite3");

const b64u = (s: string | Buffer) => Buffer.from(s).toString("base64url");
function signJwt(payload: Record<string, unknown>, secret: Buffer, header: Record<string, unknown> = { alg: "HS256", typ: "JWT" }): string {
  const head = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  if (header.alg === "none") return `${head}.`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const METHODS = [
  "auth.login",
  "auth.validate",
  "auth.createKey",
  "auth.listKeys",
  "auth.revokeKey",
  "auth.rotateKey",
  "auth.createUser",
  "auth.listUsers",
  "auth.deleteUser",
  "auth.setPassword",
  "auth.audit",
];

const dataDir = mkdtempSync(path.join(tmpdir(), "bkg-apikeys-"));
const config = { bcryptRounds: 4, bootstrapAdmin: { username: "root", password: "root-pass-1" } };
let p: Plugin;
t.teardown(async () => {
  if (p && p.child.exitCode === null) p.child.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

/** Every secret the test sees; none may appear in listings, the audit log or the database. */
const secrets: string[] = ["root-pass-1", "alice-pass-1", "bob-pass-12"];
let rootToken = "";
let aliceToken = "";
let alice: { id: string; username: string; role: string };
let ciKey: any;
let shortKey: any;
let rotKey: any;
let rotatedSecret = "";
let aliceKey: any;

t.test("handshake", async (t) => {
  const started = await Plugin.start(dataDir, config);
  p = started.plugin;
  const init = started.init;
  t.equal(init.protocolVersion, "1.0.0");
  t.equal(init.name, "apikeys");
  t.same(init.events, ["credential.revoked"]);
  const names = init.methods.map((m: any) => m.name);
  t.same([...names].sort(), [...METHODS].sort(), "announces every method");
  t.same([...manifest.provides].sort(), [...METHODS].sort(), "manifest provides every method");
  const ajv = new Ajv({ allErrors: true, strict: false });
  for (const m of init.methods) {
    t.type(m.paramsSchema, "object", `${m.name} has a paramsSchema`);
    t.doesNotThrow(() => ajv.compile(m.paramsSchema), `${m.name} paramsSchema compiles`);
  }
  t.same(await p.conn.sendRequest("bkg/ping", {}).then((r: any) => typeof r.now), "number", "answers pings");
});

t.test("bootstrap admin, login, wrong credentials", async (t) => {
  const users = await p.call("auth.listUsers");
  t.equal(users.users.length, 1);
  t.match(users.users[0], { username: "root", role: "admin" });
  t.notOk("password_hash" in users.users[0] || JSON.stringify(users).includes("$2"), "no hashes listed");

  const login = await p.call("auth.login", { username: "root", password: "root-pass-1" });
  t.match(login, { token: String, expiresAt: Number, user: { username: "root", role: "admin" } });
  t.ok(Math.abs(login.expiresAt - (Date.now() + 24 * 3600_000)) < 60_000, "24 h session by default");
  rootToken = login.token;
  secrets.push(rootToken);

  const bad = await p.fail("auth.login", { username: "root", password: "wrong-password" });
  const unknown = await p.fail("auth.login", { username: "nobody", password: "root-pass-1" });
  t.same([bad.code, bad.message], [-33005, "invalid username or password"]);
  t.same([unknown.code, unknown.message], [-33005, "invalid username or password"], "same answer for an unknown user");

  const jwtFile = path.join(dataDir, "jwt.key");
  t.equal(statSync(jwtFile).mode & 0o777, 0o600, "jwt.key is 0600");
  t.equal(readFileSync(jwtFile).length, 32, "jwt.key holds 32 bytes");
});

t.test("create user, login, validate JWT", async (t) => {
  alice = await p.call("auth.createUser", { username: "alice", password: "alice-pass-1", role: "operator", actor: "root" });
  t.match(alice, { id: /^usr_/, username: "alice", role: "operator" });
  const short = await p.fail("auth.createUser", { username: "bob", password: "short", role: "viewer" });
  t.equal(short.code, -32602, "password under 8 characters refused");
  const dup = await p.fail("auth.createUser", { username: "ALICE", password: "alice-pass-1", role: "viewer" });
  t.same([dup.code, dup.data?.reason], [-32602, "conflict"], "usernames are unique, case-insensitively");
  const badRole = await p.fail("auth.createUser", { username: "bob", password: "bob-pass-12", role: "root" });
  t.equal(badRole.code, -32602, "unknown role refused");

  const login = await p.call("auth.login", { username: "alice", password: "alice-pass-1" });
  aliceToken = login.token;
  secrets.push(aliceToken);
  const v = await p.call("auth.validate", { credential: aliceToken });
  t.same(v.valid, true);
  t.same(v.principal, { type: "user", id: alice.id, name: "alice", role: "operator", scopes: ["*"] });
  t.equal(v.expiresAt, login.expiresAt);
  const bearer = await p.call("auth.validate", { credential: `Bearer ${aliceToken}` });
  t.equal(bearer.valid, true, "a Bearer prefix is accepted");
});

t.test("forged, expired and unsigned JWTs are refused", async (t) => {
  const secret = readFileSync(path.join(dataDir, "jwt.key"));
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: alice.id, name: "alice", role: "admin", iss: "bkg-apikeys", aud: "bkg", iat: now, exp: now + 3600 };

  const control = await p.call("auth.validate", { credential: signJwt(claims, secret) });
  t.equal(control.valid, true, "control: a token signed with the real key is accepted");

  const forged = await p.call("auth.validate", { credential: signJwt(claims, randomBytes(32)) });
  t.match(forged, { valid: false, reason: "bad_signature" }, "signed with another secret");
  t.notOk("principal" in forged);

  const expired = await p.call("auth.validate", { credential: signJwt({ ...claims, iat: now - 7200, exp: now - 3600 }, secret) });
  t.match(expired, { valid: false, reason: "expired" }, "expired");

  const unsigned = await p.call("auth.validate", { credential: signJwt(claims, secret, { alg: "none", typ: "JWT" }) });
  t.equal(unsigned.valid, false, "alg none refused");
  const hs512 = await p.call("auth.validate", { credential: signJwt(claims, secret, { alg: "HS512", typ: "JWT" }) });
  t.equal(hs512.valid, false, "another algorithm refused");

  const tampered = aliceToken.split(".");
  tampered[1] = b64u(JSON.stringify({ ...claims, role: "admin" }));
  t.match(await p.call("auth.validate", { credential: tampered.join(".") }), { valid: false, reason: "bad_signature" }, "tampered payload");
  t.match(await p.call("auth.validate", { credential: "not-a-credential" }), { valid: false, reason: "malformed" });
});

t.test("create key: secret once, hashed at rest", async (t) => {
  ciKey = await p.call("auth.createKey", { name: "ci", role: "operator", scopes: ["echo.*", "apikeys.auth.validate"], owner: "alice", actor: "root" });
  t.match(ciKey, { id: /^key_/, name: "ci", role: "operator", scopes: ["echo.*", "apikeys.auth.validate"], owner: { id: alice.id, username: "alice" } });
  t.match(ciKey.key, /^bkg_live_[A-Za-z0-9_-]{43}$/);
  t.equal(Buffer.from(ciKey.key.slice(9), "base64url").length, 32, "32 random bytes");
  t.equal(ciKey.expiresAt, null, "no expiry unless asked");
  secrets.push(ciKey.key);

  shortKey = await p.call("auth.createKey", { name: "short", role: "viewer", scopes: ["*"], expiresInDays: 1.5 / 86400, actor: "root" });
  secrets.push(shortKey.key);

  const escalate = await p.fail("auth.createKey", { name: "x", role: "admin", scopes: ["*"], owner: "alice" });
  t.same([escalate.code, escalate.data?.reason], [-33003, "role_exceeds_owner"], "a key may not outrank its owner");
  const badScope = await p.fail("auth.createKey", { name: "x", role: "viewer", scopes: ["Echo"] });
  t.equal(badScope.code, -32602, "bad scope pattern refused");
  const noOwner = await p.fail("auth.createKey", { name: "x", role: "viewer", scopes: ["*"], owner: "nobody" });
  t.same([noOwner.code, noOwner.data?.reason], [-32602, "not_found"]);

  const list = await p.call("auth.listKeys");
  const listed = list.keys.find((k: any) => k.id === ciKey.id);
  t.ok(listed, "listed");
  t.notOk("key" in listed, "no key field in listings");
  for (const s of secrets) t.notOk(JSON.stringify(list).includes(s), "no secret in listKeys");

  const db = new Database(path.join(dataDir, "apikeys.db"), { readonly: true, fileMustExist: true });
  try {
    t.equal(db.pragma("journal_mode", { simple: true }), "wal");
    const row = db.prepare("SELECT * FROM api_keys WHERE id = ?").get(ciKey.id);
    t.equal(row.secret_hash, sha256(ciKey.key), "stored as SHA-256 hex");
    const dump = JSON.stringify(["users", "api_keys", "audit"].map((table) => db.prepare(`SELECT * FROM ${table}`).all()));
    for (const s of secrets) t.notOk(dump.includes(s), "no secret in any table");
    t.notOk(dump.includes(ciKey.key.slice(9)), "not even the random part");
  } finally {
    db.close();
  }
  for (const f of ["apikeys.db", "apikeys.db-wal"]) {
    const file = path.join(dataDir, f);
    if (!existsSync(file)) continue;
    const bytes = readFileSync(file);
    for (const s of secrets) t.equal(bytes.indexOf(s), -1, `no secret in the bytes of ${f}`);
    t.equal(statSync(file).mode & 0o077, 0, `${f} is private`);
  }
});

t.test("validate key: principal, scopes, lastUsedAt", async (t) => {
  const v = await p.call("auth.validate", { credential: ciKey.key });
  t.same(v, {
    valid: true,
    principal: { type: "key", id: ciKey.id, name: "ci", role: "operator", scopes: ["echo.*", "apikeys.auth.validate"], owner: alice.id },
    expiresAt: null,
  });
  const first = (await p.call("auth.listKeys")).keys.find((k: any) => k.id === ciKey.id).lastUsedAt;
  t.type(first, "number", "lastUsedAt set");
  await sleep(20);
  await p.call("auth.validate", { credential: ciKey.key });
  const second = (await p.call("auth.listKeys")).keys.find((k: any) => k.id === ciKey.id).lastUsedAt;
  t.equal(second, first, "lastUsedAt written at most once a minute");

  const wrong = ciKey.key.slice(0, -1) + (ciKey.key.endsWith("A") ? "B" : "A");
  t.match(await p.call("auth.validate", { credential: wrong }), { valid: false, reason: "unknown" });
  t.match(await p.call("auth.validate", { credential: "bkg_live_short" }), { valid: false, reason: "malformed" });
});

t.test("revoke: invalid at once, event emitted", async (t) => {
  const r = await p.call("auth.revokeKey", { id: ciKey.id, reason: "leaked", actor: "root" });
  t.match(r, { id: ciKey.id, revokedAt: Number, alreadyRevoked: false });
  t.match(await p.call("auth.validate", { credential: ciKey.key }), { valid: false, reason: "revoked", keyId: ciKey.id });
  const ev = await p.waitEvent((e) => e.event === "credential.revoked" && e.data?.keyId === ciKey.id);
  t.match(ev.data, { keyId: ciKey.id });
  const again = await p.call("auth.revokeKey", { id: ciKey.id });
  t.equal(again.alreadyRevoked, true, "revoking twice is harmless");
  const unknown = await p.fail("auth.revokeKey", { id: "key_doesnotexist0000" });
  t.same([unknown.code, unknown.data?.reason], [-32602, "not_found"]);
  t.match(unknown.message, /no key "key_doesnotexist0000"/);
  const rot = await p.fail("auth.rotateKey", { id: ciKey.id });
  t.same([rot.code, rot.data?.reason], [-32602, "conflict"], "a revoked key cannot be rotated");
});

t.test("rotate: old secret invalid, new valid, same id and scopes", async (t) => {
  rotKey = await p.call("auth.createKey", { name: "deploy", role: "viewer", scopes: ["echo.reverse"], expiresInDays: 30, actor: "root" });
  secrets.push(rotKey.key);
  t.equal((await p.call("auth.validate", { credential: rotKey.key })).valid, true);
  const before = p.events.length;
  const r = await p.call("auth.rotateKey", { id: rotKey.id, actor: "root" });
  rotatedSecret = r.key;
  secrets.push(rotatedSecret);
  t.equal(r.id, rotKey.id);
  t.not(r.key, rotKey.key);
  t.match(r.key, /^bkg_live_[A-Za-z0-9_-]{43}$/);
  t.same(r.scopes, ["echo.reverse"]);
  t.equal(r.expiresAt, rotKey.expiresAt, "expiry kept");
  t.match(await p.call("auth.validate", { credential: rotKey.key }), { valid: false, reason: "unknown" }, "old secret refused");
  const v = await p.call("auth.validate", { credential: rotatedSecret });
  t.match(v, { valid: true, principal: { id: rotKey.id, scopes: ["echo.reverse"], role: "viewer" } });
  await p.waitEvent((e) => e.event === "credential.revoked" && e.data?.keyId === rotKey.id);
  t.ok(p.events.length > before);
});

t.test("expired key refused", async (t) => {
  const wait = shortKey.expiresAt - Date.now() + 50;
  if (wait > 0) await sleep(wait);
  t.match(await p.call("auth.validate", { credential: shortKey.key }), { valid: false, reason: "expired", keyId: shortKey.id });
  const rot = await p.fail("auth.rotateKey", { id: shortKey.id });
  t.same([rot.code, rot.data?.reason], [-32602, "conflict"], "an expired key needs a new lifetime to rotate");
  const renewed = await p.call("auth.rotateKey", { id: shortKey.id, expiresInDays: 1 });
  secrets.push(renewed.key);
  t.equal((await p.call("auth.validate", { credential: renewed.key })).valid, true, "rotation with expiresInDays renews it");
});

t.test("delete user revokes their keys and sessions", async (t) => {
  aliceKey = await p.call("auth.createKey", { name: "alice-laptop", role: "viewer", scopes: ["echo.*"], owner: alice.id, actor: "alice" });
  secrets.push(aliceKey.key);
  t.equal((await p.call("auth.validate", { credential: aliceKey.key })).valid, true);
  const d = await p.call("auth.deleteUser", { username: "alice", actor: "root" });
  t.same(d, { id: alice.id, username: "alice", revokedKeys: [aliceKey.id] }, "only her active keys (ci was already revoked)");
  t.match(await p.call("auth.validate", { credential: aliceKey.key }), { valid: false, reason: "revoked" });
  t.match(await p.call("auth.validate", { credential: aliceToken }), { valid: false, reason: "unknown" }, "her session ends");
  await p.waitEvent((e) => e.event === "credential.revoked" && e.data?.keyId === aliceKey.id);
  await p.waitEvent((e) => e.event === "credential.revoked" && e.data?.userId === alice.id);
  t.same(
    (await p.call("auth.listUsers")).users.map((u: any) => u.username),
    ["root"],
  );
  const last = await p.fail("auth.deleteUser", { username: "root" });
  t.same([last.code, last.data?.reason], [-32602, "conflict"], "the last admin stays");
  const gone = await p.fail("auth.deleteUser", { id: alice.id });
  t.same([gone.code, gone.data?.reason], [-32602, "not_found"]);
});

t.test("set password ends sessions, even one issued in the same second as the change (bug: iat had one-second resolution)", async (t) => {
  const bob = await p.call("auth.createUser", { username: "bob", password: "bob-pass-12", role: "viewer", actor: "root" });
  // The edge case is a session issued in the very second of the change: retry (bounded) until one is.
  const iatOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8")).iat as number;
  let sameSecond = 0;
  let password = "bob-pass-12";
  for (let i = 0; i < 10 && sameSecond === 0; i++) {
    const login = await p.call("auth.login", { username: "bob", password });
    const next = `bob-pass-${100 + i}`;
    secrets.push(login.token, next);
    await p.call("auth.setPassword", { id: bob.id, password: next, actor: "root" });
    const changedIn = Math.floor(Date.now() / 1000);
    t.match(await p.call("auth.validate", { credential: login.token }), { valid: false, reason: "revoked" }, `session ${i} revoked`);
    t.equal((await p.fail("auth.login", { username: "bob", password })).code, -33005, "old password refused");
    if (iatOf(login.token) === changedIn) sameSecond++;
    password = next;
  }
  t.equal(sameSecond, 1, "a session issued in the second of the change was among those checked");
  const again = await p.call("auth.login", { username: "bob", password });
  secrets.push(again.token);
  t.equal((await p.call("auth.validate", { credential: again.token })).valid, true);
});

t.test('grantor: nothing granted exceeds the caller\'s role or scopes (bug: a narrow key minted a "*" key)', async (t) => {
  const role = await p.fail("auth.createKey", { name: "up", role: "admin", scopes: ["echo.*"], grantor: { role: "operator", scopes: ["*"] }, actor: "key:ops" });
  t.match(role, { code: -33003, data: { reason: "exceeds_grantor", role: "admin", grantorRole: "operator" } });
  const scope = await p.fail("auth.createKey", { name: "wide", role: "viewer", scopes: ["echo.reverse", "*"], grantor: { role: "admin", scopes: ["echo.*"] } });
  t.match(scope, { code: -33003, data: { reason: "exceeds_grantor", scopes: ["*"] } });
  const ok = await p.call("auth.createKey", { name: "within", role: "operator", scopes: ["echo.reverse", "echo.*"], grantor: { role: "admin", scopes: ["echo.*"] } });
  secrets.push(ok.key);
  t.same(ok.scopes, ["echo.reverse", "echo.*"], '"echo.*" covers "echo.reverse" and "echo.*"');
  const user = await p.fail("auth.createUser", { username: "eve", password: "eve-pass-123", role: "viewer", grantor: { role: "admin", scopes: ["bkg.*"] } });
  t.match(user, { code: -33003, data: { reason: "exceeds_grantor", scopes: ["*"] } }, 'a user\'s sessions have "*"');
  const rotate = await p.fail("auth.rotateKey", { id: ok.id, grantor: { role: "viewer", scopes: ["*"] } });
  t.match(rotate, { code: -33003, data: { reason: "exceeds_grantor", role: "operator" } });
  const { entries } = await p.call("auth.audit", { limit: 10 });
  t.match(
    entries.find((e: any) => e.actor === "key:ops"),
    { ok: false, action: "auth.createKey", detail: { error: /cannot grant more than it has/ } },
    "the refusal is audited",
  );
});

t.test("audit log: every action, no secrets", async (t) => {
  const { entries } = await p.call("auth.audit", { limit: 1000 });
  const seen = (action: string, ok: boolean) => entries.filter((e: any) => e.action === action && e.ok === ok);
  t.ok(seen("bootstrap.admin", true).length === 1, "bootstrap");
  t.ok(seen("auth.login", true).length >= 2, "logins");
  const failed = seen("auth.login", false);
  t.ok(failed.length >= 2, "failed logins");
  t.ok(failed.some((e: any) => e.who === "nobody" && e.detail.reason === "unknown user"));
  for (const a of ["auth.createUser", "auth.createKey", "auth.revokeKey", "auth.rotateKey", "auth.deleteUser", "auth.setPassword"]) {
    t.ok(seen(a, true).length >= 1, `${a} audited`);
  }
  t.ok(seen("auth.createKey", false).length >= 1, "failed mutations audited too");
  const create = seen("auth.createKey", true).find((e: any) => e.target === ciKey.id);
  t.match(create, { who: "root", actor: "root", caller: "cli", target: ciKey.id, ts: Number, detail: { name: "ci", role: "operator" } });
  const revokes = seen("auth.revokeKey", true).filter((e: any) => e.target === ciKey.id);
  t.match(revokes.at(-1), { who: "root", detail: { reason: "leaked" } }, "the first revocation, by root");
  t.match(revokes[0], { who: "cli", actor: null, detail: { alreadyRevoked: true } }, "without actor, who is the caller");
  t.match(seen("auth.deleteUser", true)[0], { who: "root", target: alice.id, detail: { revokedKeys: [aliceKey.id] } });
  for (const e of entries) for (const k of ["ts", "who", "action", "target", "ok", "detail"]) t.ok(k in e, `entry has ${k}`);
  const text = JSON.stringify(entries);
  for (const s of secrets) t.notOk(text.includes(s), "no secret in the audit log");
  t.notOk(/bkg_live_|\$2[aby]\$/.test(text), "no key or hash shapes in the audit log");
  t.ok(entries[0].id > entries[entries.length - 1].id, "newest first");
  const limited = await p.call("auth.audit", { limit: 2, action: "auth.login" });
  t.equal(limited.entries.length, 2);
  t.ok(limited.entries.every((e: any) => e.action === "auth.login"));
  const future = await p.call("auth.audit", { since: Date.now() + 60_000 });
  t.same(future.entries, []);
});

t.test("data persists across a restart", async (t) => {
  const usersBefore = await p.call("auth.listUsers");
  const keysBefore = await p.call("auth.listKeys");
  const auditBefore = (await p.call("auth.audit", { limit: 1000 })).entries.length;
  t.equal(await p.stop(), 0, "exits 0 after shutdown + exit");

  const restarted = await Plugin.start(dataDir, { bcryptRounds: 4 });
  p = restarted.plugin;
  t.same(await p.call("auth.listUsers"), usersBefore);
  t.same(await p.call("auth.listKeys"), keysBefore);
  t.equal((await p.call("auth.audit", { limit: 1000 })).entries.length, auditBefore, "audit log kept, no second bootstrap");
  t.equal((await p.call("auth.validate", { credential: rootToken })).valid, true, "sessions survive (same signing key)");
  t.equal((await p.call("auth.validate", { credential: rotatedSecret })).valid, true, "rotated key still valid");
  t.match(await p.call("auth.validate", { credential: rotKey.key }), { valid: false, reason: "unknown" });
  t.match(await p.call("auth.validate", { credential: ciKey.key }), { valid: false, reason: "revoked" });
  t.equal((await p.call("auth.login", { username: "root", password: "root-pass-1" })).user.username, "root");
  t.equal(await p.stop(), 0);
});
