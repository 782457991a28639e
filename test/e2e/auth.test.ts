/**
 * Authentication and authorization through the real apikeys plugin: the root token, sessions,
 * keys, users, audit, scopes and roles, revocation and rotation taking effect at once despite the
 * cache, expired and forged JWTs, failing closed when the auth plugin is down, the bkg users/keys
 * commands, rate limits (429 + Retry-After), public routes, and no secret in the daemon's log.
 */
import t from "tap";
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ErrorCodes } from "@bkg/protocol";
import { ADMIN_PASSWORD, apikeysManifest, echoManifest, startTestDaemon } from "../helpers/daemon.js";
import { api } from "../helpers/http.js";

const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
/** An HS256 JWT made by hand: with the plugin's key it is genuine, with another it is forged. */
function jwt(key: Buffer, payload: Record<string, unknown>, header: Record<string, unknown> = { alg: "HS256", typ: "JWT" }): string {
  const body = `${b64(header)}.${b64(payload)}`;
  return `${body}.${createHmac("sha256", key).update(body).digest("base64url")}`;
}

t.test("auth through the apikeys plugin", async (t) => {
  const d = await startTestDaemon({ apikeys: apikeysManifest(), echo: echoManifest() }, { http: { rateLimit: { perCredential: 100000, perIp: 100000 } }, auth: { cacheTtlMs: 60_000 } });
  t.teardown(() => d.stop());
  await d.waitState("apikeys", "ready");
  await d.waitState("echo", "ready");
  const root = d.rootToken();
  const asRoot = api(d.httpUrl!, root);
  const as = (token: string) => api(d.httpUrl!, token);
  const secrets: string[] = [root, ADMIN_PASSWORD];
  const newKey = async (body: Record<string, unknown>) => {
    const r = await asRoot("POST", "/api/keys", { body });
    if (r.status !== 201) throw new Error(`POST /api/keys: ${r.status} ${r.text}`);
    secrets.push(r.json.key);
    return r.json as { id: string; key: string };
  };

  t.test("the root token: mode 0600, an admin credential, never printed when stderr is not a terminal", async (t) => {
    const file = join(d.dir, "data", "root.token");
    t.equal(statSync(file).mode & 0o777, 0o600);
    t.match(root, /^bkg_root_[\w-]{43}$/);
    // The daemon logs the line right after the HTTP listen line; the log is written asynchronously.
    await d.waitFor(() => d.output().includes("created the root token"), "the root token's log line");
    t.notOk(d.output().includes(root));
    t.match(d.output(), /created the root token .* in .*root\.token, mode 0600/);
    const me = await asRoot("GET", "/auth/me");
    t.match(me.json, { type: "root", id: "root", role: "admin", scopes: ["*"] });
    const wrong = await as(`bkg_root_${randomBytes(32).toString("base64url")}`)("GET", "/auth/me");
    t.equal(wrong.status, 401);
  });

  let adminJwt = "";
  t.test("POST /auth/login gives a session; wrong credentials are 401 with one message", async (t) => {
    const r = await api(d.httpUrl!)("POST", "/auth/login", { body: { username: "admin", password: ADMIN_PASSWORD } });
    t.equal(r.status, 200);
    t.match(r.json, { token: String, expiresAt: Number, user: { username: "admin", role: "admin" } });
    adminJwt = r.json.token;
    secrets.push(adminJwt);
    t.match((await as(adminJwt)("GET", "/auth/me")).json, { type: "user", name: "admin", role: "admin" });
    const bad = await api(d.httpUrl!)("POST", "/auth/login", { body: { username: "admin", password: "not the password" } });
    const ghost = await api(d.httpUrl!)("POST", "/auth/login", { body: { username: "ghost", password: "not the password" } });
    t.equal(bad.status, 401);
    t.equal(ghost.status, 401);
    t.equal(bad.json.error.message, ghost.json.error.message, "unknown user and wrong password look the same");
    t.equal((await api(d.httpUrl!)("POST", "/auth/login", { body: { username: "admin" } })).status, 400);
  });

  t.test("users: create (201), conflict (409), list, and a viewer session can read but not act", async (t) => {
    const create = await asRoot("POST", "/api/users", { body: { username: "vic", password: "viewer password 1", role: "viewer" } });
    t.equal(create.status, 201);
    t.match(create.json, { id: /^usr_/, username: "vic", role: "viewer" });
    secrets.push("viewer password 1");
    t.equal((await asRoot("POST", "/api/users", { body: { username: "vic", password: "viewer password 1", role: "viewer" } })).status, 409);
    const list = await as(adminJwt)("GET", "/api/users");
    t.same(list.json.users.map((u: { username: string }) => u.username).sort(), ["admin", "vic"]);
    const vic = (await api(d.httpUrl!)("POST", "/auth/login", { body: { username: "vic", password: "viewer password 1" } })).json.token;
    secrets.push(vic);
    t.equal((await as(vic)("GET", "/api/plugins")).status, 200, "a viewer reads");
    const stop = await as(vic)("POST", "/api/plugins/echo/stop");
    t.equal(stop.status, 403, "a viewer may not stop a plugin");
    t.match(stop.json.error, { code: ErrorCodes.PermissionDenied, details: { reason: "role", needs: "operator" } });
    t.equal((await as(vic)("POST", "/api/call/echo/reverse", { body: { text: "x" } })).status, 403, "nor call one");
    t.equal((await as(vic)("GET", "/api/keys")).status, 403, "nor see keys");
    t.equal((await asRoot("DELETE", "/api/users/nobody")).status, 404);
  });

  t.test("scopes: a key scoped to echo.* calls echo, and cannot call apikeys.*, stop a plugin or read the plugin list", async (t) => {
    const ci = await newKey({ name: "ci", role: "operator", scopes: ["echo.*"] });
    t.match(ci.key, /^bkg_live_/);
    const k = as(ci.key);
    t.same((await k("POST", "/api/call/echo/reverse", { body: { text: "ab" } })).json, { result: "ba" });
    const x = await api(d.httpUrl!)("POST", "/api/call/echo/reverse", { body: { text: "ab" }, headers: { "x-api-key": ci.key } });
    t.equal(x.status, 200, "X-API-Key works too");
    const apikeys = await k("POST", "/api/call/apikeys/auth.listUsers", { body: {} });
    t.equal(apikeys.status, 403);
    t.match(apikeys.json.error.message, /apikeys\.auth\.listUsers needs admin/);
    const stop = await k("POST", "/api/plugins/echo/stop");
    t.equal(stop.status, 403);
    t.match(stop.json.error, { details: { reason: "scope", action: "bkg.plugins.stop" } });
    t.equal((await k("GET", "/api/plugins")).status, 403);
    t.match((await k("GET", "/auth/me")).json, { type: "key", id: ci.id, role: "operator", scopes: ["echo.*"] }, "/auth/me needs no scope");

    const scopedAdmin = as((await newKey({ name: "narrow-admin", role: "admin", scopes: ["echo.*"] })).key);
    t.equal((await scopedAdmin("GET", "/api/keys")).status, 403, "an admin key's scopes still bind it");
    t.equal((await scopedAdmin("POST", "/api/call/apikeys/auth.listUsers", { body: {} })).status, 403);

    const opsKey = await newKey({ name: "ops", role: "operator", scopes: ["*"] });
    const ops = as(opsKey.key);
    t.equal((await ops("POST", "/api/plugins/echo/reload")).status, 200, "an operator with * controls plugins");
    // Bug (issue 20, item 2): the audit trail said "operator" whoever it was.
    const isReload = (e: (typeof d.events)[number]) => e.kind === "audit" && e.action === "plugins.reload" && e.plugin === "echo";
    await d.waitFor(() => d.events.some(isReload), "the reload's audit event");
    const reloaded = d.events.find(isReload);
    t.equal(reloaded?.kind === "audit" && reloaded.actor, `key:ops (${opsKey.id})`, "the audit event names the key (name and id)");
    t.equal((await ops("POST", "/api/call/apikeys/auth.createKey", { body: { name: "sneaky", role: "admin", scopes: ["*"] } })).status, 403, "but cannot mint keys through /api/call");
    const list = await asRoot("GET", "/api/keys");
    t.ok(list.json.keys.length >= 3);
    t.notMatch(list.text, /bkg_live_/, "listing never shows secrets");
  });

  t.test("revocation takes effect at once, despite the cache", async (t) => {
    const key = await newKey({ name: "short-lived", role: "operator", scopes: ["echo.*"] });
    const k = as(key.key);
    for (let i = 0; i < 3; i++) t.equal((await k("POST", "/api/call/echo/reverse", { body: { text: "x" } })).status, 200);
    const metrics = (await asRoot("GET", "/metrics")).text;
    t.match(metrics, /bkg_auth_checks_total\{outcome="cache"\} [1-9]/, "the answers came from the cache");
    const revoke = await asRoot("DELETE", `/api/keys/${key.id}?reason=test`);
    t.equal(revoke.status, 200);
    t.match(revoke.json, { id: key.id, alreadyRevoked: false, revokedAt: Number });
    const after = await k("POST", "/api/call/echo/reverse", { body: { text: "x" } });
    t.equal(after.status, 401, "the very next request is refused");
    t.equal(after.json.error.details.reason, "revoked");
    t.equal((await asRoot("DELETE", `/api/keys/${key.id}`)).json.alreadyRevoked, true);
    t.equal((await asRoot("DELETE", "/api/keys/key_nope")).status, 404);
  });

  t.test("rotation: the old secret stops at once, the new one works", async (t) => {
    const key = await newKey({ name: "rotating", role: "operator", scopes: ["echo.*"] });
    t.equal((await as(key.key)("POST", "/api/call/echo/echo", { body: {} })).status, 200);
    const rotated = await asRoot("POST", `/api/keys/${key.id}/rotate`, { body: {} });
    t.equal(rotated.status, 200);
    secrets.push(rotated.json.key);
    t.equal(rotated.json.id, key.id);
    t.not(rotated.json.key, key.key);
    const old = await as(key.key)("POST", "/api/call/echo/echo", { body: {} });
    t.equal(old.status, 401);
    t.equal(old.json.error.details.reason, "unknown");
    t.equal((await as(rotated.json.key)("POST", "/api/call/echo/echo", { body: {} })).status, 200);
  });

  t.test("deleting a user ends their sessions at once", async (t) => {
    await asRoot("POST", "/api/users", { body: { username: "olga", password: "operator password 1", role: "operator" } });
    secrets.push("operator password 1");
    const olga = (await api(d.httpUrl!)("POST", "/auth/login", { body: { username: "olga", password: "operator password 1" } })).json.token;
    secrets.push(olga);
    t.equal((await as(olga)("POST", "/api/call/echo/echo", { body: {} })).status, 200);
    const del = await asRoot("DELETE", "/api/users/olga");
    t.equal(del.status, 200);
    t.equal((await as(olga)("POST", "/api/call/echo/echo", { body: {} })).status, 401);
  });

  t.test("JWTs: expired and forged ones are refused", async (t) => {
    const key = readFileSync(join(d.dir, "data", "plugins", "apikeys", "jwt.key"));
    const admin = (await as(adminJwt)("GET", "/auth/me")).json;
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: admin.id, name: "admin", role: "admin", iss: "bkg-apikeys", aud: "bkg" };
    const fresh = jwt(key, { ...claims, iat: now - 5, exp: now + 3600 });
    t.equal((await as(fresh)("GET", "/auth/me")).status, 200, "a token signed with the plugin's key is accepted (so the refusals below are about what they say)");
    const expired = await as(jwt(key, { ...claims, iat: now - 7200, exp: now - 3600 }))("GET", "/auth/me");
    t.equal(expired.status, 401);
    t.equal(expired.json.error.details.reason, "expired");
    const forged = await as(jwt(randomBytes(32), { ...claims, iat: now, exp: now + 3600 }))("GET", "/auth/me");
    t.equal(forged.status, 401);
    t.equal(forged.json.error.details.reason, "bad_signature");
    const [h, , s] = adminJwt.split(".");
    const tampered = await as(`${h}.${b64({ ...claims, role: "admin", sub: "usr_someoneelse", iat: now, exp: now + 99999 })}.${s}`)("GET", "/auth/me");
    t.equal(tampered.status, 401);
    const none = await as(`${b64({ alg: "none", typ: "JWT" })}.${b64({ ...claims, iat: now, exp: now + 3600 })}.`)("GET", "/auth/me");
    t.equal(none.status, 401, "alg none is refused");
  });

  t.test("the CLI: bkg users add, bkg keys create|list|revoke, over the socket", async (t) => {
    const add = await d.cli(["users", "add", "carol", "--role", "operator", "--password-stdin"], { input: "carol password 1\n" });
    t.equal(add.code, 0, add.stderr);
    t.match(add.stdout, /created user carol \(usr_[\w-]+\), role operator/);
    secrets.push("carol password 1");
    t.equal((await api(d.httpUrl!)("POST", "/auth/login", { body: { username: "carol", password: "carol password 1" } })).status, 200);
    const create = await d.cli(["keys", "create", "cli-made", "--role", "operator", "--scope", "echo.*", "--json"]);
    t.equal(create.code, 0, create.stderr);
    const k = JSON.parse(create.stdout);
    secrets.push(k.key);
    t.match(k, { id: /^key_/, name: "cli-made", scopes: ["echo.*"] });
    t.equal((await as(k.key)("POST", "/api/call/echo/echo", { body: {} })).status, 200);
    const list = await d.cli(["keys", "list"]);
    t.match(list.stdout, new RegExp(`${k.id}\\s+cli-made\\s+operator\\s+echo\\.\\*`));
    t.notMatch(list.stdout, /bkg_live_/);
    const revoke = await d.cli(["keys", "revoke", k.id, "--reason", "done"]);
    t.equal(revoke.code, 0, revoke.stderr);
    t.equal((await as(k.key)("POST", "/api/call/echo/echo", { body: {} })).status, 401, "revoked over the socket, refused over HTTP at once");
    const bad = await d.cli(["keys", "create", "x", "--role", "god"]);
    t.equal(bad.code, 2);
  });

  t.test("GET /api/audit: who did what, and no secrets", async (t) => {
    const r = await asRoot("GET", "/api/audit?limit=200");
    t.equal(r.status, 200);
    const created = r.json.entries.filter((e: { action: string; ok: boolean }) => e.action === "auth.createKey" && e.ok);
    t.ok(
      created.some((e: { actor: string }) => e.actor === "root"),
      "keys made over HTTP name the principal",
    );
    t.ok(
      created.some((e: { actor: string }) => /^cli:/.test(e.actor)),
      "keys made with the CLI name the OS user",
    );
    for (const s of secrets) t.notOk(r.text.includes(s), "the audit log holds no secret");
  });

  t.test("the auth plugin down: guarded requests fail closed with 503; the root token still works", async (t) => {
    const key = await newKey({ name: "during-outage", role: "operator", scopes: ["echo.*"] });
    t.equal((await as(key.key)("POST", "/api/call/echo/echo", { body: {} })).status, 200, "cached while the plugin is up");
    t.equal((await asRoot("POST", "/api/plugins/apikeys/stop")).status, 200);
    const r = await as(key.key)("POST", "/api/call/echo/echo", { body: {} });
    t.equal(r.status, 503);
    t.match(r.json.error, { code: ErrorCodes.PluginUnavailable, message: /cannot check credentials/, details: { reason: "auth_unavailable" } });
    t.equal((await as(adminJwt)("GET", "/api/plugins")).status, 503, "sessions too");
    t.equal((await asRoot("GET", "/api/plugins")).status, 200, "the root token does not need the plugin");
    t.equal((await api(d.httpUrl!)("POST", "/auth/login", { body: { username: "admin", password: ADMIN_PASSWORD } })).status, 503);
    t.equal((await api(d.httpUrl!)("GET", "/health")).status, 200);
    t.equal((await asRoot("POST", "/api/plugins/apikeys/start")).status, 200);
    await d.waitState("apikeys", "ready");
    t.equal((await as(key.key)("POST", "/api/call/echo/echo", { body: {} })).status, 200, "back once it is");
  });

  t.test("no secret ever reaches the daemon's log", async (t) => {
    const out = d.output();
    t.ok(secrets.length >= 12);
    for (const s of secrets) t.notOk(out.includes(s), `secret ${s.slice(0, 12)}... is not in the log`);
    t.notMatch(out, /bkg_live_[\w-]{20}/);
    t.match(out, /"component":"http".*"cred":"key_/, "the access log names keys by id");
  });
});

t.test("rate limits, public routes, and no auth plugin at all", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() }, { http: { rateLimit: { perCredential: 5, perIp: 4 }, publicRoutes: ["GET /health", "GET /api/plugins"] } });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  const anon = api(d.httpUrl!);
  const root = api(d.httpUrl!, d.rootToken());

  t.test("without the auth plugin, API keys fail closed (503); a refusal counts against the address", async (t) => {
    const r = await api(d.httpUrl!, `bkg_live_${"a".repeat(43)}`)("GET", "/ready");
    t.equal(r.status, 503);
    t.match(r.json.error.message, /auth plugin "apikeys"/);
  });

  t.test("per IP for requests without a credential; 429 with Retry-After", async (t) => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await anon("GET", i % 2 ? "/health" : "/api/plugins")).status);
    t.same(statuses, [200, 200, 200], "GET /api/plugins is public by config (and the refusal above was the 4th)");
    const r = await anon("GET", "/health");
    t.equal(r.status, 429);
    t.match(r.json.error, { code: ErrorCodes.Overloaded, message: /rate limit: more than 4 requests in 60 s/, details: { reason: "rate_limited", limit: 4 } });
    t.match(r.headers.get("retry-after"), /^\d+$/);
    t.ok(Number(r.headers.get("retry-after")) > 0 && Number(r.headers.get("retry-after")) <= 60);
    t.equal((await anon("GET", "/ready")).status, 429, "failed authentications count against the address too");
  });

  t.test("per credential, independent of the address", async (t) => {
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await root("GET", "/ready"));
    t.same(
      answers.map((a) => a.status),
      [200, 200, 200, 200, 200, 429],
    );
    const h = (i: number, name: string) => answers[i].headers.get(name);
    t.same(
      [0, 1, 4].map((i) => [h(i, "x-ratelimit-limit"), h(i, "x-ratelimit-remaining")]),
      [
        ["5", "4"],
        ["5", "3"],
        ["5", "0"],
      ],
      "X-RateLimit-Limit and -Remaining on every answer",
    );
    t.ok(Number(h(0, "x-ratelimit-reset")) > 0 && Number(h(0, "x-ratelimit-reset")) <= 60, "X-RateLimit-Reset in seconds");
    t.same([h(5, "x-ratelimit-limit"), h(5, "x-ratelimit-remaining")], ["5", "0"]);
    t.equal(h(5, "retry-after"), h(5, "x-ratelimit-reset"), "the 429 says when to retry");
    t.equal(h(0, "retry-after"), null, "only the 429 has Retry-After");
    const metrics = await api(d.httpUrl!, d.rootToken())("GET", "/metrics");
    t.equal(metrics.status, 429, "the credential's budget covers every route");
    const call = await root("POST", "/api/call/echo/echo", { body: {} });
    t.equal(call.status, 429, "calls too");
    t.equal(call.json.error.code, ErrorCodes.Overloaded);
  });
});
