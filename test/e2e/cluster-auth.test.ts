/**
 * Credentials across the cluster: the apikeys plugin runs on node c only; a key created through
 * node a works on a, b and c (each asks apikeys through the cluster), and once it is revoked
 * through node b, the credential.revoked event reaches every node over NATS and clears their
 * auth caches: a and c refuse it within 100 ms of the revocation's answer.
 */
import t from "tap";
import { apikeysManifest, echoManifest, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { api } from "../helpers/http.js";
import { startNats, type TestNats } from "../helpers/nats.js";

let nats: TestNats;
const nodes: TestDaemon[] = [];
t.before(async () => {
  nats = await startNats();
});
t.teardown(async () => {
  for (const d of nodes.splice(0)) await d.stop().catch(() => undefined);
  await nats?.stop();
});

const config = (nodeId: string) => ({
  storage: { nodeId },
  // A long cache: without the revocation event, a node would keep accepting the key for a minute.
  auth: { cacheTtlMs: 60_000 },
  http: { rateLimit: { perCredential: 100000, perIp: 100000 } },
  cluster: { nats: { servers: [nats.url] }, heartbeatMs: 250 },
});

t.test("a key made on a works on b and c; revoked on b, a and c refuse it within 100 ms", async (t) => {
  const a = await startTestDaemon({ echo: echoManifest() }, config("a"));
  nodes.push(a);
  const b = await startTestDaemon({ echo: echoManifest() }, config("b"));
  nodes.push(b);
  const c = await startTestDaemon({ apikeys: apikeysManifest(), echo: echoManifest() }, config("c"));
  nodes.push(c);
  for (const d of [a, b]) await d.waitFor(async () => (await d.client.cluster.plugins()).some((p) => p.node === "c" && p.name === "apikeys" && p.ready), "apikeys on c");
  await c.waitState("apikeys", "ready");

  const made = await api(a.httpUrl!, a.rootToken())("POST", "/api/keys", { body: { name: "ci", role: "operator", scopes: ["echo.*"] } });
  t.equal(made.status, 201, made.text);
  const { id, key } = made.json as { id: string; key: string };
  const call = (d: TestDaemon) => api(d.httpUrl!, key)("POST", "/api/call/echo/reverse", { body: { text: "ab" } });
  for (const [name, d] of [["a", a], ["b", b], ["c", c]] as const) {
    const r = await call(d);
    t.equal(r.status, 200, `the key works on ${name}: ${r.text}`);
  }

  // When the revocation event reaches a (it clears a's auth cache as it arrives there too).
  let eventOnA = Infinity;
  await a.client.subscribe({ topics: ["plugin"], plugin: "apikeys" }, (e) => {
    if (e.kind === "plugin" && e.event === "apikeys.credential.revoked") eventOnA = Math.min(eventOnA, Date.now());
  });
  const revoked = await api(b.httpUrl!, b.rootToken())("DELETE", `/api/keys/${id}`);
  t.equal(revoked.status, 200, revoked.text);
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
