/**
 * A revocation that lands while a long-lived session is still being authenticated: the answer
 * "valid" was decided before it and arrives after it, so the revocation found no session to
 * re-check. The WebSocket session (header or AUTH message) and the gRPC Watch must re-check
 * once they exist, and close.
 */
import t from "tap";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { ErrorCodes } from "@bkg/protocol";
import { ROOT, echoManifest, startTestDaemon } from "../helpers/daemon.js";
import { WsClient } from "../helpers/ws.js";
import { Bus } from "../helpers/grpc.js";

const slowAuth = fileURLToPath(new URL("../fixtures/plugins/slow-auth.mjs", import.meta.url));
const credential = (c: string) => `bkg_live_${c.repeat(43)}`;

t.test("a credential revoked while its session authenticates is refused once the session exists", async (t) => {
  const d = await startTestDaemon(
    { echo: echoManifest(), slowauth: { name: "slowauth", version: "1.0.0", command: ["node", slowAuth], cwd: ROOT, provides: ["auth.validate", "hold", "revoke"] } },
    { auth: { plugin: "slowauth" }, grpc: { enabled: true, port: 0 } },
  );
  t.teardown(() => d.stop());
  await d.waitState("slowauth", "ready");
  const wsUrl = `${d.httpUrl!.replace("http", "ws")}/ws/plugins`;
  await d.client.call("slowauth.hold", { ms: 400 });

  t.test("WebSocket, credential in the upgrade's header", async (t) => {
    const key = credential("h");
    const opening = WsClient.open(wsUrl, { authorization: `Bearer ${key}` });
    await d.client.call("slowauth.revoke", { credential: key });
    const c = await opening;
    t.equal((await c.closedWith(5000)).code, 4401, "closed: unauthenticated");
  });

  t.test("WebSocket, credential in the AUTH message", async (t) => {
    const key = credential("m");
    const c = await WsClient.open(wsUrl);
    c.send({ action: "AUTH", token: key });
    await d.client.call("slowauth.revoke", { credential: key });
    t.match(await c.next((m) => m.type === "error", "the refusal"), { error: { code: ErrorCodes.Unauthenticated } });
    t.equal((await c.closedWith(5000)).code, 4401);
  });

  t.test("gRPC Watch", async (t) => {
    const client = new Bus(d.grpcAddress!, grpc.credentials.createInsecure());
    t.teardown(() => client.close());
    const key = credential("g");
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${key}`);
    const w = client.Watch({ topics: ["lifecycle"] }, md) as grpc.ClientReadableStream<unknown>;
    w.on("data", () => undefined);
    const ended = new Promise<grpc.ServiceError>((r) => w.on("error", r));
    await d.client.call("slowauth.revoke", { credential: key });
    const still = new Promise<"open">((r) => setTimeout(r, 5000, "open").unref());
    const e = await Promise.race([ended, still]);
    if (e === "open") w.cancel();
    t.equal(e === "open" ? "still open after 5 s" : e.code, grpc.status.UNAUTHENTICATED, "the stream ends: unauthenticated");
  });
});
