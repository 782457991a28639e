/**
 * Issue 20, item 6 — a credential that expired while a WebSocket session or a gRPC Watch was open
 * kept the stream open forever (only revocation was re-checked). Now each stream ends when its
 * credential expires: the WebSocket closes with 4401 (as for revocation), the Watch ends with
 * UNAUTHENTICATED, both with reason "expired".
 */
import t from "tap";
import * as grpc from "@grpc/grpc-js";
import { ErrorCodes } from "@bkg/protocol";
import { apikeysManifest, echoManifest, startTestDaemon } from "../helpers/daemon.js";
import { Bus } from "../helpers/grpc.js";
import { api } from "../helpers/http.js";
import { WsClient } from "../helpers/ws.js";

/** Long enough to open the streams on a slow machine, short enough for a test to wait for. */
const LIFETIME_S = 5;

t.test("streams end when their credential expires (bug: only revocation ended them)", async (t) => {
  const d = await startTestDaemon({ apikeys: apikeysManifest(), echo: echoManifest() }, { grpc: { enabled: true, port: 0 } });
  t.teardown(() => d.stop());
  await d.waitState("apikeys", "ready");
  const asRoot = api(d.httpUrl!, d.rootToken());
  const newKey = async (name: string) => {
    const r = await asRoot("POST", "/api/keys", { body: { name, role: "viewer", scopes: ["bkg.*"], expiresInDays: LIFETIME_S / 86_400 } });
    t.equal(r.status, 201, r.text);
    return r.json as { id: string; key: string; expiresAt: number };
  };

  t.test("WebSocket: closed with 4401 at expiry", async (t) => {
    const k = await newKey("ws-short");
    const ws = await WsClient.open(`${d.httpUrl!.replace(/^http/, "ws")}/ws/plugins`, { authorization: `Bearer ${k.key}` });
    t.teardown(() => ws.close());
    await ws.next((m) => m.type === "bootstrap", "bootstrap");
    ws.send({ action: "SUB", topic: "status" });
    const closed = await ws.closedWith(LIFETIME_S * 1000 + 20_000);
    t.equal(closed.code, 4401, `closed: ${JSON.stringify(closed)}`);
    t.ok(Date.now() >= k.expiresAt, "not before the expiry");
    t.match(ws.messages.at(-1), { type: "error", error: { code: ErrorCodes.Unauthenticated, details: { reason: "expired" } } });
  });

  t.test("gRPC Watch: ends UNAUTHENTICATED at expiry", async (t) => {
    const k = await newKey("grpc-short");
    const client = new Bus(d.grpcAddress!, grpc.credentials.createInsecure());
    t.teardown(() => client.close());
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${k.key}`);
    const w = client.Watch({ topics: ["lifecycle"] }, md) as grpc.ClientReadableStream<unknown>;
    w.on("data", () => undefined);
    const ended = await new Promise<grpc.ServiceError | "timeout">((resolve) => {
      const bound = setTimeout(() => resolve("timeout"), LIFETIME_S * 1000 + 20_000);
      w.on("error", (e: grpc.ServiceError) => (clearTimeout(bound), resolve(e)));
    });
    w.cancel();
    t.not(ended, "timeout", "the watch ended");
    const e = ended as grpc.ServiceError;
    t.equal(e.code, grpc.status.UNAUTHENTICATED, e.details);
    t.ok(Date.now() >= k.expiresAt, "not before the expiry");
    t.equal(JSON.parse(String(e.metadata.get("bkg-error-data")[0])).reason, "expired");
  });
});
