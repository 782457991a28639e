/**
 * The gRPC service bkg.v1.Bus (schemas/bkg.proto) on @grpc/grpc-js: Call (unary), CallStream
 * (server streaming: progress values, then the result) and Watch (events). Off unless
 * grpc.enabled. Same credentials as HTTP, from metadata; same access policy and rate limits.
 * A gRPC deadline becomes the call's deadline; a client cancel cancels the plugin call.
 * Errors carry the gRPC status of grpcStatusOf() and trailers bkg-error-code / bkg-error-data.
 * docs/grpc.md has a client example.
 */
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { BkgError, CancelToken, ErrorCodes } from "@bkg/protocol";
import { atExpiry, authorizeAction, authorizeCall, credentialFromMetadata, modelOf, onlyModelScoped, stampAuthCall, unauthenticated, type DaemonAction, type Principal } from "../auth/index.js";
import type { GrpcTls } from "../config/index.js";
import type { Topic } from "../events/index.js";
import type { OwnSpan } from "../tracing/index.js";
import { traceOfRequest } from "./http-call-common.js";
import type { SurfaceDeps } from "./surface-deps.js";
import { packagePath } from "../package-root.js";

/** W3C trace context in the metadata, as gRPC's OpenTelemetry instrumentation sends it. */
function traceparentOf(metadata: grpc.Metadata): string | undefined {
  const tp = metadata.get("traceparent")[0];
  return typeof tp === "string" ? tp : undefined;
}

export const PROTO_FILE = packagePath("schemas", "bkg.proto");
/** Options both the server and clients should load the proto with (camelCase fields, longs as numbers). */
export const PROTO_OPTIONS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };

interface CallRequest {
  method: string;
  paramsJson: string;
  timeoutMs: number;
}
interface WatchRequest {
  topics: string[];
  plugin: string;
}

const S = grpc.status;
const STATUS: Record<number, grpc.status> = {
  [ErrorCodes.ParseError]: S.INVALID_ARGUMENT,
  [ErrorCodes.InvalidRequest]: S.INVALID_ARGUMENT,
  [ErrorCodes.InvalidParams]: S.INVALID_ARGUMENT,
  [ErrorCodes.MethodNotFound]: S.NOT_FOUND,
  [ErrorCodes.InternalError]: S.INTERNAL,
  [ErrorCodes.RequestCancelled]: S.CANCELLED,
  [ErrorCodes.PluginUnavailable]: S.UNAVAILABLE,
  [ErrorCodes.DeadlineExceeded]: S.DEADLINE_EXCEEDED,
  [ErrorCodes.Overloaded]: S.RESOURCE_EXHAUSTED,
  [ErrorCodes.PermissionDenied]: S.PERMISSION_DENIED,
  [ErrorCodes.PluginCrashed]: S.INTERNAL,
  [ErrorCodes.Unauthenticated]: S.UNAUTHENTICATED,
  [ErrorCodes.ProtocolMismatch]: S.INTERNAL,
};

/** The gRPC status for a JSON-RPC code; a plugin's own codes and -33010 are UNKNOWN. */
export function grpcStatusOf(code: number): grpc.status {
  return STATUS[code] ?? S.UNKNOWN;
}

function toServiceError(e: unknown): Partial<grpc.StatusObject> {
  const err = BkgError.from(e);
  const metadata = new grpc.Metadata();
  metadata.set("bkg-error-code", String(err.code));
  if (err.data !== undefined) metadata.set("bkg-error-data", JSON.stringify(err.data));
  return { code: grpcStatusOf(err.code), details: err.message, metadata };
}

const WATCH_ACTION: Record<Topic, DaemonAction> = { lifecycle: "bkg.plugins.list", log: "bkg.plugins.logs", plugin: "bkg.events" } as Record<Topic, DaemonAction>;

export function loadBusService(): grpc.ServiceDefinition {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_FILE, PROTO_OPTIONS)) as unknown as { bkg: { v1: { Bus: grpc.ServiceClientConstructor } } };
  return pkg.bkg.v1.Bus.service;
}

export class GrpcServer {
  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
    readonly host: string,
  ) {}

  static async start(deps: SurfaceDeps): Promise<GrpcServer> {
    const { ctx, auth, limiter } = deps;
    const cfg = ctx.config.grpc;
    const log = ctx.logger.child({ component: "grpc" });
    // grpc-js has no connection cap; idle connections are closed and each one's streams and memory are bounded.
    const server = new grpc.Server({
      "grpc.max_receive_message_length": cfg.maxReceiveMessageBytes,
      "grpc.max_send_message_length": cfg.maxSendMessageBytes,
      "grpc.max_concurrent_streams": cfg.maxConcurrentStreams,
      "grpc.keepalive_time_ms": cfg.keepaliveTimeMs,
      "grpc.keepalive_timeout_ms": cfg.keepaliveTimeoutMs,
      "grpc.max_connection_idle_ms": cfg.maxConnectionIdleMs,
    });
    const watches = new Set<{ recheck(): Promise<void>; end(): void }>();
    const offRevoked = auth.onRevoked(() => watches.forEach((w) => void w.recheck()));

    /** Authenticates and rate-limits one RPC; logs it when it ends. */
    const guard = async (call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>, rpc: string) => {
      const credential = credentialFromMetadata((k) => call.metadata.get(k));
      const ip = /^ipv[46]:(.*):\d+$/.exec(call.getPeer())?.[1] ?? call.getPeer();
      let principal: Principal | undefined;
      let ownSpan: OwnSpan | undefined;
      try {
        principal = auth.cached(credential);
        if (principal === undefined) {
          // Only the auth plugin can tell: its call joins the RPC's trace (a call's span is reserved).
          const trace: ReturnType<typeof traceOfRequest> = rpc === "Watch" ? {} : traceOfRequest(ctx.tracer, traceparentOf(call.metadata));
          ownSpan = trace.ownSpan;
          principal = await auth.authenticate(credential, undefined, trace.traceparent);
        }
      } catch (e) {
        throw limiter.take(`ip:${ip}`) ?? e;
      }
      const limited = limiter.take(`cred:${principal.id}`);
      if (limited) throw limited;
      const t0 = performance.now();
      const done = (status: string) => log.info({ rpc, cred: principal.id, ip, status, ms: Math.round((performance.now() - t0) * 10) / 10 }, `grpc ${rpc} ${status}`);
      return { principal, credential, done, ownSpan };
    };

    /** Taken before the first await: a client that cancels while it is authenticated is not missed. */
    const cancelTokenFor = (call: grpc.ServerUnaryCall<CallRequest, unknown> | grpc.ServerWritableStream<CallRequest, unknown>) => {
      const cancel = new CancelToken();
      if (call.cancelled) cancel.abort();
      else call.on("cancelled", () => cancel.abort());
      return cancel;
    };

    const callOptions = (call: grpc.ServerUnaryCall<CallRequest, unknown> | grpc.ServerWritableStream<CallRequest, unknown>, p: Principal, cancel: CancelToken, ownSpan: OwnSpan | undefined) => {
      const req = call.request;
      // Model-scoped keys need the params' model: checked once they are parsed.
      const modelScoped = onlyModelScoped(p.scopes, req.method);
      if (!modelScoped) authorizeCall(p, req.method, auth.plugin);
      let params: unknown = {};
      if (req.paramsJson) {
        try {
          params = JSON.parse(req.paramsJson);
        } catch (e) {
          throw new BkgError(ErrorCodes.ParseError, `params_json is not valid JSON: ${(e as Error).message}`);
        }
      }
      if (modelScoped) authorizeCall(p, req.method, auth.plugin, modelOf(params));
      const d = call.getDeadline();
      const deadline = d instanceof Date ? d.getTime() : Number.isFinite(d) ? Number(d) : undefined;
      return {
        params: stampAuthCall(p, req.method, params, auth.plugin),
        opts: { caller: `grpc:${p.id}`, cancel, timeoutMs: req.timeoutMs || undefined, deadline: req.timeoutMs ? undefined : deadline, traceparent: traceparentOf(call.metadata), ownSpan },
      };
    };

    server.addService(loadBusService(), {
      Call: (call: grpc.ServerUnaryCall<CallRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const cancel = cancelTokenFor(call);
        void (async () => {
          const g = await guard(call, "Call");
          try {
            const { params, opts } = callOptions(call, g.principal, cancel, g.ownSpan);
            const result = await ctx.router.call(call.request.method, params, opts);
            g.done("OK");
            cb(null, { resultJson: JSON.stringify(result ?? null) });
          } catch (e) {
            g.done(String(BkgError.from(e).code));
            throw e;
          }
        })().catch((e) => cb(toServiceError(e)));
      },
      CallStream: (call: grpc.ServerWritableStream<CallRequest, unknown>) => {
        const cancel = cancelTokenFor(call);
        void (async () => {
          const g = await guard(call, "CallStream");
          try {
            const { params, opts } = callOptions(call, g.principal, cancel, g.ownSpan);
            const result = await ctx.router.call(call.request.method, params, { ...opts, onProgress: (v) => call.write({ progressJson: JSON.stringify(v ?? null) }) });
            g.done("OK");
            call.write({ resultJson: JSON.stringify(result ?? null) });
            call.end();
          } catch (e) {
            g.done(String(BkgError.from(e).code));
            throw e;
          }
        })().catch((e) => call.emit("error", toServiceError(e)));
      },
      Watch: (call: grpc.ServerWritableStream<WatchRequest, unknown>) => {
        const revocationsBefore = auth.revocations;
        void (async () => {
          const g = await guard(call, "Watch");
          if (call.cancelled) return g.done("CANCELLED");
          const want = call.request.topics.length ? call.request.topics : ["lifecycle", "log", "plugin"];
          const bad = want.filter((t) => !(t in WATCH_ACTION));
          if (bad.length) throw new BkgError(ErrorCodes.InvalidParams, `unknown topic(s) ${bad.join(", ")}; topics are lifecycle, log, plugin`);
          for (const t of want) authorizeAction(g.principal, WATCH_ACTION[t as Topic]);
          const off = ctx.bus.subscribe({ topics: want as Topic[], plugin: call.request.plugin || undefined }, (e) =>
            call.write({ kind: e.kind, plugin: "plugin" in e ? e.plugin : undefined, ts: e.ts, json: JSON.stringify(e) }),
          );
          const watch = {
            end: () => (stop(), call.end()),
            recheck: async () => {
              if (g.principal.type === "root") return;
              try {
                await auth.authenticate(g.credential);
              } catch (e) {
                stop();
                call.emit("error", toServiceError(e));
              }
            },
          };
          let cancelExpiry = (): void => undefined;
          const stop = () => {
            off();
            cancelExpiry();
            watches.delete(watch);
          };
          watches.add(watch);
          // Only revocation wakes a watch up; its credential's expiry must end it too.
          cancelExpiry = atExpiry(g.principal, () => {
            stop();
            call.emit("error", toServiceError(unauthenticated("expired")));
          });
          call.on("cancelled", () => (stop(), g.done("CANCELLED")));
          call.on("close", stop);
          // A revocation while this stream authenticated found no watch to re-check: check it now.
          if (auth.revocations !== revocationsBefore) void watch.recheck();
        })().catch((e) => call.emit("error", toServiceError(e)));
      },
    });

    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${cfg.host}:${cfg.port}`, serverCredentials(cfg.tls), (err, p) =>
        err ? reject(new BkgError(ErrorCodes.InternalError, `cannot listen for gRPC on ${cfg.host}:${cfg.port}: ${err.message} (set grpc.port, or BKG_GRPC_PORT)`)) : resolve(p),
      ),
    );
    const s = new GrpcServer(server, port, cfg.host);
    s.stopWatches = () => {
      offRevoked();
      for (const w of [...watches]) w.end();
    };
    return s;
  }

  private stopWatches?: () => void;

  /** Ends Watch streams, stops taking calls; running calls get `graceMs`, then are cancelled. */
  async close(graceMs = 3000): Promise<void> {
    this.stopWatches?.();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

/** TLS from grpc.tls (mutual when it names a client CA), plaintext without it. A file that cannot be read stops the start, naming it. */
function serverCredentials(tls: GrpcTls | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const read = (what: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new BkgError(ErrorCodes.InternalError, `cannot read grpc.tls.${what} ${file}: ${(e as Error).message}`);
    }
  };
  const ca = tls.clientCaFile ? read("clientCaFile", tls.clientCaFile) : null;
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: read("certFile", tls.certFile), private_key: read("keyFile", tls.keyFile) }], Boolean(ca));
}
