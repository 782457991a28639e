export { SocketServer } from "./socket-server.js";
export { isAlive } from "./socket-probe.js";
export { CONTROL_METHODS, status, type ControlMethod } from "./control-api.js";
export type { DaemonContext, Endpoints } from "./daemon-context.js";
export { startControlSurface, type ControlSurface, type ControlSurfaceOptions } from "./control-surface.js";
export type { Metrics, UsageSource, PluginUsage, GatewayMetrics } from "./metrics.js";
export type { TelemetrySource } from "./telemetry-source.js";
