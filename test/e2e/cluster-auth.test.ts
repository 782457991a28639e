/**
 * Credentials across the cluster: nats-server, one throwaway PostgreSQL and three daemons, each
 * with its own data folder and its own apikeys plugin, all on the same PostgreSQL store (apikeys
 * keeps users, keys, the audit log and the session key there when the daemon's storage is
 * PostgreSQL). A key created through node a works on b and c; once it is revoked through node
 * b, the credential.revoked event reaches every node over NATS and clears their auth caches: a
 * and c refuse it at once. A session made on one node is accepted by the others (shared key).
 */
import t from "tap";
import { ADMIN_PASSWORD, apikeysManifest, echoManifest, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { api } from "../helpers/http.js";
import { startNats, type TestNats } from "../helpers/nats.js";
import { startPostgres, type TestPostgres } from "../helpers/postgres.js";

// Three daemons and a nats-server start in this file: on a loaded 2-core machine that alone can take a minute.
t.setTimeout(300_000);
let nats: TestNats;
let pg: TestPostgres;
let storeUrl: string;
const nodes: TestDaemon[] = [];
t.before(async () => {
  nats = await startNats();
  pg = await startPostgres();
  storeUrl = await pg.createDatabase("cluster");
});
t.teardown(async () => {
  for (const d of nodes.splice(0)) await d.stop().catch(() => undefined);
  await nats?.stop();
  await pg?.stop();
});

const config = (nodeId: string) => ({
  storage: { nodeId, url: storeUrl },
  // A long cache: without the revocation event, a node would keep accepting the key for a minute.
  auth: { cacheTtlMs: 60_000 },
  http: { rateLimit: { perCredential: 100000, perIp: 100000 } },
  cluster: { nats: { servers: [nats.url] }, heartbeatMs: 250 },
});

t.test("a key made on a works on b and c; revoked on b, a and c refuse it within 100 ms", async (t) => {
  // a makes the bootstrap admin in the shared store; b and c find it there.
  const a = await startTestDaemon({ apikeys: apikeysManifest(), echo: echoManifest() }, config("a"));
  nodes.push(a);
  await a.waitState("apikeys", "ready");
  const shared = apikeysManifest({}, { bootstrapAdmin: undefined });
  const b = await startTestDaemon({ apikeys: shared, echo: echoManifest() }, config("b"));
  nodes.push(b);
  const c = await startTestDaemon({ apikeys: shared, echo: echoManifest() }, config("c"));
  nodes.push(c);
  for (const d of [b, c]) await d.waitState("apikeys", "ready");
  await a.logLine("users, keys and sessions are in PostgreSQL", "apikeys on a to use the shared store");

  // A session made on b is accepted on c: the signing key is shared.
  const login = await api(b.httpUrl!)("POST", "/auth/login", { body: { username: "admin", password: ADMIN_PASSWORD } });
  t.equal(login.status, 200, login.status === 200 ? "logged in on b" : login.text);
  const me = await api(c.httpUrl!, (login.json as { token: string }).token)("GET", "/auth/me");
  t.equal(me.status, 200, `b's session works on c: ${me.text}`);

  const made = await api(a.httpUrl!, a.rootToken())("POST", "/api/keys", { body: { name: "ci", role: "operator", scopes: ["echo.*"] } });
  t.equal(made.status, 201, made.status === 201 ? "key made through a" : made.text);
  const { id, key } = made.json as { id: string; key: string };
  const call = (d: TestDaemon) => api(d.httpUrl!, key)("POST", "/api/call/echo/reverse", { body: { text: "ab" } });
  for (const [name, d] of [
    ["a", a],
    ["b", b],
    ["c", c],
  ] as const) {
    const r = await call(d);
    t.equal(r.status, 200, `the key works on ${name}: ${r.text}`);
  }
  // Every node's apikeys is asked by its own daemon: the key is in the shared store, not copied.
  const listed = await api(c.httpUrl!, c.rootToken())("GET", "/api/keys");
  t.ok(
    (listed.json as { keys: { id: string }[] }).keys.some((k) => k.id === id),
    "c lists the key a made",
  );

  // When the revocation event reaches a (it clears a's auth cache as it arrives there too).
  let eventOnA = Infinity;
  await a.client.subscribe({ topics: ["plugin"], plugin: "apikeys" }, (e) => {
    if (e.kind === "plugin" && e.event === "apikeys.credential.revoked") eventOnA = Math.min(eventOnA, Date.now());
  });
  const revoked = await api(b.httpUrl!, b.rootToken())("DELETE", `/api/keys/${id}`);
  t.equal(revoked.status, 200, revoked.status === 200 ? "revoked through b" : revoked.text);
  const at = Date.now();
  // The first request sent after the revocation answered is refused on a and on c: the
  // revocation took effect everywhere within 0 ms of its answer, well inside the 100 ms bound.
  // (Each request's own round trip on a loaded machine is not the revocation's delay.)
  const [onA, onC] = await Promise.all([call(a), call(c)]);
  t.equal(onA.status, 401, `refused on a at the first request after the revocation: ${onA.text}`);
  t.equal(onC.status, 401, `refused on c at the first request after the revocation: ${onC.text}`);
  await a.waitFor(() => eventOnA !== Infinity, "the revocation event on a");
  t.ok(eventOnA - at < 100, `the revocation event reached a ${eventOnA - at} ms after the revocation answered (negative: before)`);
  t.equal((await call(b)).status, 401, "and on b");
});
