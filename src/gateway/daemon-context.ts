import type { TlsState } from "./reloading-tls.js";
import type { Router } from "../bus/index.js";
import type { ResolvedConfig } from "../config/index.js";
import type { EventBus } from "../events/index.js";
import type { Logger } from "../logs/index.js";
import type { ModelService } from "../models/index.js";
import type { Supervisor } from "../supervisor/index.js";
import type { Telemetry } from "../telemetry/index.js";
import type { OtlpExport, Tracer } from "../tracing/index.js";

export interface Endpoints {
  http?: { host: string; port: number; url: string; ws: string; tls?: TlsState };
  /** `tls`: whether clients must connect with TLS (grpc.tls). */
  grpc?: { host: string; port: number; address: string; tls: boolean };
}

/** What the control methods show of cluster mode. */
export interface ClusterView {
  nodeId: string;
  plugins(): { node: string; self: boolean; name: string; version?: string; state: string; ready: boolean }[];
  status(): unknown;
}

/** What every gateway (socket, HTTP, WebSocket, gRPC) needs from the running daemon. */
export interface DaemonContext {
  version: string;
  startedAt: number;
  config: ResolvedConfig;
  supervisor: Supervisor;
  router: Router;
  bus: EventBus;
  logger: Logger;
  /** The model store (models.dir, pulls, the models table); absent in a context built without one. */
  models?: ModelService;
  /** Cluster mode (src/cluster); absent when the daemon is on its own. */
  cluster?: ClusterView;
  /** Telemetry, events and the store; absent in a context built without a store. */
  telemetry?: Telemetry;
  /** Traces (src/tracing); absent when telemetry.tracing.enabled is false. */
  tracer?: Tracer;
  /** The OTLP exporter; absent unless telemetry.otlp.endpoint is set. */
  otlp?: Pick<OtlpExport, "dropped" | "exported">;
  /** Where the network gateways actually listen (set once they are bound; port 0 resolved). */
  endpoints?: Endpoints;
  /**
   * Resolves once the manifests folder has been read and every plugin is registered. Gateways
   * listen before that (so a second daemon fails fast) and hold requests until it resolves, so
   * a client never sees a plugin list that is still filling in.
   */
  loaded?: Promise<void>;
  /** Stops the daemon gracefully; resolves when everything is down. */
  shutdown(reason: string): Promise<void>;
}
