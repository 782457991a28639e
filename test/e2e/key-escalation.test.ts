/**
 * Issue 20, item 1 — a key could mint a stronger key: POST /api/keys (and the auth plugin's
 * methods called directly over /api/call, the WebSocket and gRPC) passed the requested role and
 * scopes on without comparing them with the caller's. An admin key scoped to a few actions made
 * a key scoped to "*". Now no credential creates, rotates or grants (a user, a password) more than
 * it holds, on every surface, the refusal is in the audit log, and a client cannot name another actor.
 */
import t from "tap";
import * as grpc from "@grpc/grpc-js";
import { ErrorCodes } from "@bkg/protocol";
import { apikeysManifest, echoManifest, startTestDaemon } from "../helpers/daemon.js";
import { Bus } from "../helpers/grpc.js";
import { api } from "../helpers/http.js";
import { WsClient } from "../helpers/ws.js";

t.test('a credential cannot create, rotate or grant more than it has (bug: POST /api/keys minted a "*" key from a narrow one)', async (t) => {
  const d = await startTestDaemon({ apikeys: apikeysManifest(), echo: echoManifest() }, { grpc: { enabled: true, port: 0 }, http: { rateLimit: { perCredential: 100000, perIp: 100000 } } });
  t.teardown(() => d.stop());
  await d.waitState("apikeys", "ready");
  const asRoot = api(d.httpUrl!, d.rootToken());
  const made = await asRoot("POST", "/api/keys", { body: { name: "maker", role: "admin", scopes: ["bkg.keys.*", "bkg.users.create", "bkg.audit", "apikeys.auth.*", "echo.*"] } });
  t.equal(made.status, 201, made.text);
  const maker = made.json as { id: string; key: string };
  const asMaker = api(d.httpUrl!, maker.key);
  const strong = (await asRoot("POST", "/api/keys", { body: { name: "strong", role: "admin", scopes: ["*"] } })).json as { id: string };
  const exceeds = { code: ErrorCodes.PermissionDenied, details: { reason: "exceeds_grantor" } };

  t.test("HTTP: /api/keys, rotate, /api/users", async (t) => {
    const wide = await asMaker("POST", "/api/keys", { body: { name: "wide", role: "admin", scopes: ["*"] } });
    t.equal(wide.status, 403, `a "*" key from a narrow one: ${wide.text}`);
    t.match(wide.json.error, { ...exceeds, message: /scope\(s\) \*, .*cannot grant more than it has/, details: { scopes: ["*"] } });
    t.notOk(wide.json.key, "no secret came back");
    const bkgAll = await asMaker("POST", "/api/keys", { body: { name: "bkg-all", role: "viewer", scopes: ["echo.*", "bkg.*"] } });
    t.equal(bkgAll.status, 403, "one scope too wide is enough to refuse");
    t.match(bkgAll.json.error.details, { scopes: ["bkg.*"] });

    const narrow = await asMaker("POST", "/api/keys", { body: { name: "narrow", role: "operator", scopes: ["echo.reverse", "echo.*", "bkg.keys.list"] } });
    t.equal(narrow.status, 201, `scopes covered by the caller's are granted: ${narrow.text}`);

    const rotate = await asMaker("POST", `/api/keys/${strong.id}/rotate`);
    t.equal(rotate.status, 403, `rotating a stronger key (and getting its new secret): ${rotate.text}`);
    t.match(rotate.json.error, exceeds);
    t.equal((await asMaker("POST", `/api/keys/${narrow.json.id}/rotate`)).status, 200, "rotating a key within the caller's reach works");

    const user = await asMaker("POST", "/api/users", { body: { username: "mallory", password: "mallory password 1", role: "admin" } });
    t.equal(user.status, 403, `a user (whose sessions have "*") from a key without "*": ${user.text}`);
    t.match(user.json.error, exceeds);
    t.equal((await asRoot("POST", "/api/users", { body: { username: "trent", password: "trent password 1", role: "operator" } })).status, 201, "the root token may");
  });

  t.test("/api/call: the plugin's methods directly, and the actor cannot be forged", async (t) => {
    const wide = await asMaker("POST", "/api/call/apikeys/auth.createKey", { body: { name: "wide2", role: "admin", scopes: ["*"] } });
    t.equal(wide.status, 403, wide.text);
    t.match(wide.json.error, exceeds);
    const pw = await asMaker("POST", "/api/call/apikeys/auth.setPassword", { body: { username: "admin", password: "taken over 123" } });
    t.equal(pw.status, 403, `setting the admin's password: ${pw.text}`);
    t.match(pw.json.error, exceeds);
    const forged = await asMaker("POST", "/api/call/apikeys/auth.createKey", {
      body: { name: "forged-actor", role: "viewer", scopes: ["echo.*"], actor: "root", grantor: { role: "admin", scopes: ["*"] } },
    });
    t.equal(forged.status, 200, forged.text);
    const wide3 = await asMaker("POST", "/api/call/apikeys/auth.createKey", { body: { name: "wide3", role: "admin", scopes: ["*"], grantor: { role: "admin", scopes: ["*"] } } });
    t.equal(wide3.status, 403, "a grantor in the params is replaced by the caller's own");
  });

  t.test("WebSocket CALL", async (t) => {
    const ws = await WsClient.open(`${d.httpUrl!.replace(/^http/, "ws")}/ws/plugins`, { authorization: `Bearer ${maker.key}` });
    t.teardown(() => ws.close());
    ws.send({ action: "CALL", id: "w1", method: "apikeys.auth.createKey", params: { name: "ws-wide", role: "admin", scopes: ["*"] } });
    t.match(await ws.next((m) => m.id === "w1", "the answer"), { type: "error", error: { code: ErrorCodes.PermissionDenied, details: { reason: "exceeds_grantor" } } });
    ws.send({ action: "CALL", id: "w2", method: "apikeys.auth.createKey", params: { name: "ws-narrow", role: "viewer", scopes: ["echo.*"] } });
    t.match(await ws.next((m) => m.id === "w2", "the answer"), { type: "result", payload: { name: "ws-narrow", scopes: ["echo.*"] } });
  });

  t.test("gRPC Call", async (t) => {
    const client = new Bus(d.grpcAddress!, grpc.credentials.createInsecure());
    t.teardown(() => client.close());
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${maker.key}`);
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.Call({ method: "apikeys.auth.createKey", paramsJson: JSON.stringify({ name: "grpc-wide", role: "admin", scopes: ["*"] }), timeoutMs: 0 }, md, (e: grpc.ServiceError | null) => resolve(e)),
    );
    t.equal(err?.code, grpc.status.PERMISSION_DENIED, String(err?.details));
    t.equal(JSON.parse(String(err?.metadata.get("bkg-error-data")[0])).reason, "exceeds_grantor");
  });

  t.test("the audit log records each refusal with the real actor", async (t) => {
    const r = await asRoot("GET", "/api/audit?limit=500");
    const actor = `key:maker (${maker.id})`;
    const refused = r.json.entries.filter((e: { ok: boolean; actor: string }) => !e.ok && e.actor === actor);
    const actions = refused.map((e: { action: string }) => e.action);
    t.equal(actions.filter((a: string) => a === "auth.createKey").length, 6, "HTTP x2, /api/call x2, WS, gRPC");
    t.equal(actions.filter((a: string) => a === "auth.rotateKey").length, 1);
    t.equal(actions.filter((a: string) => a === "auth.createUser").length, 1);
    t.equal(actions.filter((a: string) => a === "auth.setPassword").length, 1);
    t.ok(
      refused.every((e: { detail: { error: string } }) => /cannot grant more than it has/.test(e.detail.error)),
      "each says why",
    );
    const forged = r.json.entries.find((e: { action: string; ok: boolean; detail: { name?: string } }) => e.action === "auth.createKey" && e.ok && e.detail?.name === "forged-actor");
    t.equal(forged?.actor, actor, 'an "actor" in the params is replaced by the real one');
  });
});
