/**
 * Issue 11.5: a call whose deadline passes is told so in the same plain words on every surface,
 * whichever side noticed first (the router's timer, or the plugin stopping at _meta.deadline).
 */
import * as grpc from "@grpc/grpc-js";
import t from "tap";
import { ErrorCodes } from "@bkg/protocol";
import { echoManifest, startTestDaemon } from "../helpers/daemon.js";
import { Bus } from "../helpers/grpc.js";
import { api } from "../helpers/http.js";
import { WsClient } from "../helpers/ws.js";

const WORDS =
  /^echo\.sleep did not answer within its deadline of \d+ ms, so it was asked to stop; if it is only slow, give the call more time \(bkg call --timeout, \?timeoutMs= over HTTP, the gRPC deadline\) or raise timeouts\.call in its manifest$/;
const SLOW = { ms: 10_000 };
const TIMEOUT = 300;

t.test("a passed deadline reads the same on the CLI, HTTP, the socket, the WebSocket, gRPC and bkg/call", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() }, { grpc: { enabled: true, port: 0 } });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  const root = d.rootToken();
  const messages: Record<string, string> = {};

  const cli = await d.cli(["call", "echo.sleep", JSON.stringify(SLOW), "--timeout", String(TIMEOUT)]);
  t.equal(cli.code, 1, "the CLI exits 1");
  t.match(cli.stderr, /^bkg: error -33001 DeadlineExceeded: echo\.sleep did not/, "the CLI names the method once");
  messages.cli = /DeadlineExceeded: (.*)$/m.exec(cli.stderr)?.[1] ?? cli.stderr;

  const http = await api(d.httpUrl!, root)("POST", `/api/call/echo/sleep?timeoutMs=${TIMEOUT}`, { body: SLOW });
  t.equal(http.status, 504, "HTTP answers 504");
  t.equal(http.json.error.code, ErrorCodes.DeadlineExceeded);
  messages.http = http.json.error.message;

  const socket = await d.client.call("echo.sleep", SLOW, { timeoutMs: TIMEOUT }).catch((e) => e);
  t.equal(socket.code, ErrorCodes.DeadlineExceeded, "the socket answers -33001");
  messages.socket = socket.message;

  const ws = await WsClient.open(`${d.httpUrl!.replace("http", "ws")}/ws/plugins`, { authorization: `Bearer ${root}` });
  ws.ws.send(JSON.stringify({ action: "CALL", id: "slow", method: "echo.sleep", params: SLOW, timeoutMs: TIMEOUT }));
  const w = await ws.next((m) => m.id === "slow" && m.type === "error", "the WebSocket answer");
  ws.close();
  t.equal(w.error.code, ErrorCodes.DeadlineExceeded, "the WebSocket answers -33001");
  messages.ws = w.error.message;

  const client = new Bus(d.grpcAddress!, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${root}`);
  const g = await new Promise<grpc.ServiceError | null>((resolve) =>
    client.Call({ method: "echo.sleep", paramsJson: JSON.stringify(SLOW), timeoutMs: TIMEOUT }, md, (err: grpc.ServiceError | null) => resolve(err)),
  );
  client.close();
  t.equal(g?.code, grpc.status.DEADLINE_EXCEEDED, "gRPC answers DEADLINE_EXCEEDED");
  messages.grpc = g?.details ?? "";

  // A plugin calling another through the daemon, with the nested call's own timeout.
  const nested = (await d.client.call("echo.relay", { method: "echo.sleep", params: SLOW, timeoutMs: TIMEOUT }).catch((e) => e)) as { code: number; message: string };
  t.equal(nested.code, ErrorCodes.DeadlineExceeded, "bkg/call answers -33001");
  messages.bkgCall = nested.message;

  for (const [surface, message] of Object.entries(messages)) t.match(message, WORDS, `${surface}: ${message}`);
});
