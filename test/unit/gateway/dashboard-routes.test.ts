import t from "tap";
import { isDaemonPath } from "../../../src/gateway/http-routes-dashboard.js";
import { maskedConfig } from "../../../src/gateway/http-routes-dashboard-api.js";

t.test("the daemon's own paths are never answered with the app", async (t) => {
  for (const p of ["/api", "/api/plugins", "/v1/chat/completions", "/auth/login", "/ws/plugins", "/metrics", "/health", "/ready", "/openapi.json"]) t.ok(isDaemonPath(p), p);
  for (const p of ["/", "/plugins/echo", "/keys", "/apidocs", "/v1x", "/healthy"]) t.notOk(isDaemonPath(p), p);
});

t.test("the config shown on the Settings page masks secrets, keeps numbers and flags", async (t) => {
  const m = maskedConfig({
    storage: { url: "postgres://bkg:hunter2@db/bkg" },
    auth: { plugin: "apikeys", rootToken: true, cacheTtlMs: 10000 },
    http: { rateLimit: { perCredential: 600 }, cors: { origins: ["https://x"] } },
    grpc: { tls: { keyPassphrase: "s3cret" } },
  }) as any;
  t.equal(m.storage.url, "[redacted]", "a URL with a password");
  t.equal(m.grpc.tls.keyPassphrase, "[redacted]", "a secret-sounding key");
  t.same(m.auth, { plugin: "apikeys", rootToken: true, cacheTtlMs: 10000 }, "a section named like a secret keeps its settings");
  t.equal(m.http.rateLimit.perCredential, 600);
  t.same(m.http.cors.origins, ["https://x"]);
  t.notMatch(JSON.stringify(m), /hunter2|s3cret/);
});
