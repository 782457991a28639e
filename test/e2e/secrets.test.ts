/**
 * Hardening item 4: a manifest's env and config hold a plugin's secrets; they never leave the
 * daemon (API, CLI, WebSocket, logs) unless an admin asks for them.
 */
import t from "tap";
import { apikeysManifest, echoManifest, startTestDaemon } from "../helpers/daemon.js";
import { api } from "../helpers/http.js";
import { WsClient } from "../helpers/ws.js";

const SECRETS = ["sk_live_51Habc", "pg-pass-9x", "hunter2-config", "nested-api-key-77", "url-pass-42", "-----BEGIN RSA PRIVATE KEY-----"];

t.test("bug: GET /api/plugins/:name showed a manifest's env and config (secrets) to a viewer", async (t) => {
  const echo = echoManifest("echo", {
    env: { STRIPE_KEY: SECRETS[0], DATABASE_URL: `postgres://app:${SECRETS[1]}@db.internal/app`, PLAIN: "not secret either way" },
    config: {
      password: SECRETS[2],
      upstream: { apiKey: SECRETS[3], retries: 3 },
      webhook: `https://hook:${SECRETS[4]}@hooks.example/x`,
      tls: { key: `${SECRETS[5]}\nMIIE...` },
      rounds: 12,
      name: "visible",
    },
  });
  const d = await startTestDaemon({ apikeys: apikeysManifest(), echo });
  t.teardown(() => d.stop());
  await d.waitState("apikeys", "ready");
  await d.waitState("echo", "ready");
  const root = d.rootToken();
  const asRoot = api(d.httpUrl!, root);
  const key = await asRoot("POST", "/api/keys", { body: { name: "dash", role: "viewer", scopes: ["*"] } });
  t.equal(key.status, 201, `a viewer key (${key.status === 201 ? "created" : key.text})`);
  const asViewer = api(d.httpUrl!, key.json.key);
  const leaks = (text: string) => SECRETS.filter((s) => text.includes(s));

  const v = await asViewer("GET", "/api/plugins/echo");
  t.equal(v.status, 200);
  t.same(leaks(v.text), [], "no secret in the viewer's answer");
  t.same(v.json.manifest.env, { STRIPE_KEY: "[redacted]", DATABASE_URL: "[redacted]", PLAIN: "[redacted]" }, "every env value is redacted");
  t.match(
    v.json.manifest.config,
    { password: "[redacted]", upstream: { apiKey: "[redacted]", retries: 3 }, webhook: "[redacted]", tls: { key: "[redacted]" }, rounds: 12, name: "visible" },
    "secret config redacted, the rest shown",
  );

  const denied = await asViewer("GET", "/api/plugins/echo?secrets=true");
  t.equal(denied.status, 403, "a viewer asking for the secrets is refused");
  t.match(denied.json, { error: { message: /bkg\.plugins\.secrets needs admin/ } });
  t.same(leaks(denied.text), []);

  const plainAdmin = await asRoot("GET", "/api/plugins/echo");
  t.same(leaks(plainAdmin.text), [], "an admin who does not ask sees them redacted too");
  const revealed = await asRoot("GET", "/api/plugins/echo?secrets=true");
  t.equal(revealed.status, 200);
  t.equal(revealed.json.manifest.env.STRIPE_KEY, SECRETS[0], "an admin who asks sees them");

  const cli = await d.cli(["plugins", "info", "echo", "--json"]);
  t.equal(cli.code, 0);
  t.same(leaks(cli.stdout), [], "bkg plugins info --json redacts");
  const shown = await d.cli(["plugins", "info", "echo", "--json", "--show-secrets"]);
  t.equal(JSON.parse(shown.stdout).manifest.config.password, SECRETS[2], "--show-secrets shows them (the socket is the machine owner's)");

  const ws = await WsClient.open(`${d.httpUrl!.replace("http", "ws")}/ws/plugins`, { authorization: `Bearer ${key.json.key}` });
  ws.send({ action: "SUB", topic: "status" });
  await ws.next((m) => m.type === "subscribed", "the subscription");
  t.equal((await d.cli(["plugins", "reload", "echo"])).code, 0);
  await ws.next((m) => m.type === "status" && m.payload?.plugin === "echo" && m.payload?.state === "ready", "echo ready again");
  ws.close();
  t.same(leaks(JSON.stringify(ws.messages)), [], "nothing on the WebSocket carries a secret");
  const events = await asRoot("GET", "/api/events?since=1h");
  t.same(leaks(events.text), [], "nor do the stored events");
  t.same(leaks(d.output()), [], "nor the daemon's log");
});
