import type { DaemonContext } from "./daemon-context.js";

/**
 * A method of the daemon's own control surface (`bkg.*`). Its own module so that the method
 * tables (models-api.ts, telemetry-api.ts) and control-api.ts, which gathers them, depend on
 * it and not on each other. `actor` names who asks, for the audit trail: actorOf(principal) on
 * HTTP, "socket" on the unix socket.
 */
export type ControlMethod = (ctx: DaemonContext, params: Record<string, unknown>, actor: string) => unknown | Promise<unknown>;
