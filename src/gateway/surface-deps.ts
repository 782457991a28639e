import type { Authenticator } from "../auth/index.js";
import type { DaemonContext } from "./daemon-context.js";
import type { Metrics } from "./metrics.js";
import type { RateLimiter } from "./rate-limiter.js";
import type { TelemetrySource } from "./telemetry-source.js";

/** What the HTTP, WebSocket and gRPC servers share: one authenticator, one limiter, one registry. */
export interface SurfaceDeps {
  ctx: DaemonContext;
  auth: Authenticator;
  limiter: RateLimiter;
  metrics: Metrics;
  telemetry: TelemetrySource;
}
