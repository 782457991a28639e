/**
 * gRPC message size limits (docs/config.md, "Connection limits"): a request over
 * grpc.maxReceiveMessageBytes is refused RESOURCE_EXHAUSTED; one within it is served.
 */
import t from "tap";
import * as grpc from "@grpc/grpc-js";
import { startTestDaemon } from "../helpers/daemon.js";
import { Bus } from "../helpers/grpc.js";

t.test("regression: gRPC took requests up to 64 MiB (grpc.maxReceiveMessageBytes)", async (t) => {
  const d = await startTestDaemon(undefined, { grpc: { enabled: true, port: 0, maxReceiveMessageBytes: 1024 * 1024 } });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  // The client may send and receive anything: the limits tested are the server's.
  const Client = Bus as unknown as new (addr: string, creds: grpc.ChannelCredentials, options: grpc.ChannelOptions) => InstanceType<typeof Bus>;
  const client = new Client(d.grpcAddress!, grpc.credentials.createInsecure(), { "grpc.max_send_message_length": -1, "grpc.max_receive_message_length": -1 });
  t.teardown(() => client.close());
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${d.rootToken()}`);
  const call = (method: string, params: unknown) =>
    new Promise<{ ok?: unknown; code?: grpc.status; details?: string }>((resolve) =>
      client.Call({ method, paramsJson: JSON.stringify(params), timeoutMs: 0 }, md, (err: grpc.ServiceError | null, res: { resultJson: string }) =>
        resolve(err ? { code: err.code, details: err.details } : { ok: JSON.parse(res.resultJson) }),
      ),
    );
  t.same(await call("echo.reverse", { text: "abc" }), { ok: "cba" }, "a small call is served");
  const big = await call("echo.echo", { blob: "x".repeat(2 * 1024 * 1024) });
  t.equal(big.code, grpc.status.RESOURCE_EXHAUSTED, `a 2 MiB request is refused: ${big.details}`);
  t.same(await call("echo.reverse", { text: "still" }), { ok: "llits" }, "the connection is still usable");
});
