/**
 * gRPC bkg.v1.Bus against a real daemon (grpc.enabled, port 0) with the apikeys and echo plugins,
 * through a @grpc/grpc-js client built from schemas/bkg.proto: Call, CallStream, Watch,
 * credentials in metadata, scopes, error statuses with bkg-error-* trailers, deadlines and
 * cancellation, and a revoked key ending its Watch stream.
 */
import t from "tap";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { ErrorCodes } from "@bkg/protocol";
import { BIN, apikeysManifest, echoManifest, startTestDaemon } from "../helpers/daemon.js";
import { api } from "../helpers/http.js";
import { Bus, type BusClient } from "../helpers/grpc.js";
import { makeCerts } from "../helpers/tls.js";

const auth = (token?: string) => {
  const md = new grpc.Metadata();
  if (token) md.set("authorization", `Bearer ${token}`);
  return md;
};

interface Failure {
  code: grpc.status;
  details: string;
  bkgCode?: number;
  bkgData?: unknown;
}
const failure = (e: grpc.ServiceError): Failure => {
  const data = e.metadata?.get("bkg-error-data")[0];
  return { code: e.code, details: e.details, bkgCode: Number(e.metadata?.get("bkg-error-code")[0]), bkgData: data ? JSON.parse(String(data)) : undefined };
};

t.test("gRPC bkg.v1.Bus", async (t) => {
  const d = await startTestDaemon({ apikeys: apikeysManifest(), echo: echoManifest() }, { grpc: { enabled: true, port: 0 }, http: { rateLimit: { perCredential: 100000, perIp: 100000 } } });
  t.teardown(() => d.stop());
  await d.waitState("apikeys", "ready");
  await d.waitState("echo", "ready");
  t.match(d.grpcAddress, /^127\.0\.0\.1:\d+$/, "bkg.status tells where gRPC listens");
  const client = new Bus(d.grpcAddress!, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  const root = d.rootToken();
  const asRoot = api(d.httpUrl!, root);

  const call = (method: string, params: unknown, md = auth(root), opts: grpc.CallOptions = {}, timeoutMs = 0) =>
    new Promise<unknown>((resolve, reject) =>
      client.Call(
        { method, paramsJson: params === undefined ? "" : typeof params === "string" ? params : JSON.stringify(params), timeoutMs },
        md,
        opts,
        (err: grpc.ServiceError | null, res: { resultJson: string }) => (err ? reject(failure(err)) : resolve(JSON.parse(res.resultJson))),
      ),
    );
  const stream = (method: string, params: unknown, md = auth(root)) =>
    new Promise<{ progress: unknown[]; result?: unknown; error?: Failure }>((resolve) => {
      const out: { progress: unknown[]; result?: unknown; error?: Failure } = { progress: [] };
      const s = client.CallStream({ method, paramsJson: JSON.stringify(params) }, md) as grpc.ClientReadableStream<{ kind: string; progressJson?: string; resultJson?: string }>;
      s.on("data", (m) => (m.kind === "progressJson" ? out.progress.push(JSON.parse(m.progressJson!)) : (out.result = JSON.parse(m.resultJson!))));
      s.on("error", (e: grpc.ServiceError) => ((out.error = failure(e)), resolve(out)));
      s.on("end", () => resolve(out));
    });

  t.test("Call: a result, with the credential in metadata", async (t) => {
    t.equal(await call("echo.reverse", { text: "abc" }), "cba");
    t.same(await call("echo.echo", undefined), {}, "no params is {}");
    const md = new grpc.Metadata();
    md.set("x-api-key", root);
    t.equal(await call("echo.reverse", { text: "xy" }, md), "yx", "x-api-key works too");
  });

  t.test("CallStream: progress in order, then the result", async (t) => {
    const r = await stream("echo.stream", { n: 40 });
    t.same(
      r.progress.map((p) => (p as { i: number }).i),
      Array.from({ length: 40 }, (_, i) => i),
    );
    t.same(r.result, { count: 40 });
    t.notOk(r.error);
    const bad = await stream("echo.stream", { n: -1 });
    t.equal(bad.error?.code, grpc.status.INVALID_ARGUMENT);
  });

  t.test("errors: status codes and bkg-error-* trailers", async (t) => {
    t.match(await call("echo.reverse", { text: 1 }).catch((e) => e), { code: grpc.status.INVALID_ARGUMENT, bkgCode: ErrorCodes.InvalidParams, bkgData: { errors: [{ path: "/text" }] } });
    t.match(await call("echo.nope", {}).catch((e) => e), { code: grpc.status.NOT_FOUND, bkgCode: ErrorCodes.MethodNotFound });
    t.match(await call("echo.fail", { message: "boom" }).catch((e) => e), { code: grpc.status.UNKNOWN, details: "boom", bkgCode: ErrorCodes.PluginError });
    t.match(await call("echo.echo", "{broken").catch((e) => e), { code: grpc.status.INVALID_ARGUMENT, bkgCode: ErrorCodes.ParseError });
    t.match(await call("echo.echo", {}, auth()).catch((e) => e), { code: grpc.status.UNAUTHENTICATED, bkgCode: ErrorCodes.Unauthenticated, details: /credential is required/ });
    t.match(await call("echo.echo", {}, auth(`bkg_live_${"n".repeat(43)}`)).catch((e) => e), { code: grpc.status.UNAUTHENTICATED, bkgData: { reason: "unknown" } });
  });

  t.test("deadlines: the gRPC deadline, or timeout_ms", async (t) => {
    const started = Date.now();
    t.match(await call("echo.sleep", { ms: 5000 }, auth(root), { deadline: Date.now() + 300 }).catch((e) => e), { code: grpc.status.DEADLINE_EXCEEDED });
    t.match(await call("echo.sleep", { ms: 5000 }, auth(root), {}, 200).catch((e) => e), { code: grpc.status.DEADLINE_EXCEEDED, bkgCode: ErrorCodes.DeadlineExceeded });
    t.ok(Date.now() - started < 3000);
  });

  t.test("a client cancel cancels the plugin call", async (t) => {
    const c = client.Call({ method: "echo.sleep", paramsJson: JSON.stringify({ ms: 44_444 }) }, auth(root), () => undefined) as grpc.ClientUnaryCall;
    await d.waitInFlight("echo");
    c.cancel();
    await d.waitFor(() => d.events.some((e) => e.kind === "plugin" && (e.data as { ms?: number })?.ms === 44_444), "the plugin to see the cancellation");
    t.pass("cancelled");
  });

  t.test("scopes: a key scoped to echo.* cannot call apikeys.* nor watch", async (t) => {
    const k = (await asRoot("POST", "/api/keys", { body: { name: "grpc", role: "operator", scopes: ["echo.*"] } })).json;
    t.equal(await call("echo.reverse", { text: "ok" }, auth(k.key)), "ko");
    t.match(await call("apikeys.auth.listUsers", {}, auth(k.key)).catch((e) => e), { code: grpc.status.PERMISSION_DENIED, bkgCode: ErrorCodes.PermissionDenied });
    const w = client.Watch({ topics: ["plugin"] }, auth(k.key)) as grpc.ClientReadableStream<unknown>;
    const err = await new Promise<Failure>((r) => w.on("error", (e: grpc.ServiceError) => r(failure(e))));
    t.match(err, { code: grpc.status.PERMISSION_DENIED, bkgData: { action: "bkg.events" } });
  });

  t.test("Watch: lifecycle and plugin events; a revoked key's stream ends UNAUTHENTICATED", async (t) => {
    const events: { kind: string; plugin: string; ts: number; json: string }[] = [];
    const w = client.Watch({ topics: ["lifecycle", "plugin"], plugin: "echo" }, auth(root)) as grpc.ClientReadableStream<(typeof events)[number]>;
    w.on("data", (e) => events.push(e));
    w.on("error", () => undefined);
    // A Watch has no acknowledgement: an event it carries shows the subscription is live.
    const live = async (seen: { json: string }[], ms: number) => {
      await call("echo.sleep", { ms }, auth(root), {}, 50).catch(() => undefined);
      await d.waitFor(() => seen.some((e) => JSON.parse(e.json).data?.ms === ms), "the watch to carry an event");
    };
    await live(events, 33_332);
    await asRoot("POST", "/api/plugins/echo/stop");
    await asRoot("POST", "/api/plugins/echo/start");
    await d.waitState("echo", "ready");
    await call("echo.sleep", { ms: 33_333 }, auth(root), {}, 50).catch(() => undefined);
    await d.waitFor(() => events.some((e) => e.kind === "plugin" && JSON.parse(e.json).data?.ms === 33_333), "the plugin event");
    t.ok(events.some((e) => e.kind === "lifecycle" && JSON.parse(e.json).state === "stopped"));
    t.ok(events.every((e) => e.plugin === "echo" && typeof e.ts === "number"));
    w.cancel();

    const k = (await asRoot("POST", "/api/keys", { body: { name: "watcher", role: "viewer", scopes: ["bkg.*"] } })).json;
    const kw = client.Watch({ topics: ["lifecycle", "plugin"] }, auth(k.key)) as grpc.ClientReadableStream<{ json: string }>;
    const ended = new Promise<Failure>((r) => kw.on("error", (e: grpc.ServiceError) => r(failure(e))));
    const seen: { json: string }[] = [];
    kw.on("data", (e) => seen.push(e));
    await live(seen, 33_331);
    await asRoot("DELETE", `/api/keys/${k.id}`);
    t.match(await ended, { code: grpc.status.UNAUTHENTICATED, bkgData: { reason: "revoked" } });
  });

  t.test("the access log names the credential, never the secret", async (t) => {
    t.match(d.output(), /"component":"grpc".*"rpc":"Call","cred":"root"/);
    t.notOk(d.output().includes(root));
  });
});

t.test("grpc.tls: TLS, and mutual TLS with clientCaFile", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-grpc-tls-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const certs = makeCerts(dir);
  const ping = (client: BusClient, token: string) =>
    new Promise<unknown>((resolve, reject) =>
      client.Call(
        { method: "echo.echo", paramsJson: JSON.stringify({ tls: true }), timeoutMs: 0 },
        auth(token),
        { deadline: Date.now() + 5000 },
        (err: grpc.ServiceError | null, res: { resultJson: string }) => (err ? reject(failure(err)) : resolve(JSON.parse(res.resultJson))),
      ),
    );

  const d = await startTestDaemon(
    { echo: echoManifest() },
    { grpc: { enabled: true, port: 0, tls: { certFile: join(dir, "server.crt"), keyFile: join(dir, "server.key") } }, http: { enabled: false } },
  );
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  await d.waitFor(() => d.output().includes("(TLS)"), "the log says TLS");
  const root = d.rootToken();
  const tls = new Bus(d.grpcAddress!, grpc.credentials.createSsl(Buffer.from(certs.ca)));
  t.teardown(() => tls.close());
  t.same(await ping(tls, root), { tls: true }, "a TLS client that trusts the CA is served");
  const plain = new Bus(d.grpcAddress!, grpc.credentials.createInsecure());
  t.teardown(() => plain.close());
  t.match(await ping(plain, root).catch((e) => e), { code: grpc.status.UNAVAILABLE }, "a plaintext client is not");

  const m = await startTestDaemon(
    { echo: echoManifest() },
    { grpc: { enabled: true, port: 0, tls: { certFile: join(dir, "server.crt"), keyFile: join(dir, "server.key"), clientCaFile: join(dir, "ca.crt") } }, http: { enabled: false } },
  );
  t.teardown(() => m.stop());
  await m.waitState("echo", "ready");
  const mroot = m.rootToken();
  const noCert = new Bus(m.grpcAddress!, grpc.credentials.createSsl(Buffer.from(certs.ca)));
  t.teardown(() => noCert.close());
  t.match(await ping(noCert, mroot).catch((e) => e), { code: grpc.status.UNAVAILABLE }, "mutual TLS: no client certificate, no connection");
  const withCert = new Bus(m.grpcAddress!, grpc.credentials.createSsl(Buffer.from(certs.ca), Buffer.from(certs.clientKey), Buffer.from(certs.clientCert)));
  t.teardown(() => withCert.close());
  t.same(await ping(withCert, mroot), { tls: true }, "with one the CA signed, served");
});

t.test("grpc.tls naming a file that does not exist stops the start, naming it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-grpc-tls-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, "bkg.config.json"),
    JSON.stringify({
      manifestsDir: ".",
      dataDir: "data",
      socketPath: "bkg.sock",
      http: { enabled: false },
      grpc: { enabled: true, port: 0, tls: { certFile: "missing/server.crt", keyFile: "missing/server.key" } },
    }),
  );
  const env = { ...process.env, BKG_LOG_FORMAT: "json" };
  delete env.BKG_CONFIG;
  const r = spawnSync(process.execPath, [BIN, "--config", join(dir, "bkg.config.json"), "daemon", "start"], { env, encoding: "utf8", timeout: 30_000 });
  t.equal(r.status, 1, "exit 1");
  t.match(r.stderr, /the daemon could not start: cannot read grpc\.tls\.certFile .*\/missing\/server\.crt: ENOENT/, "the file is named, relative to the config file");
});
