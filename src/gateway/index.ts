export { SocketServer } from "./socket-server.js";
export { isAlive } from "./socket-probe.js";
export { CONTROL_METHODS, status, type ControlMethod } from "./control-api.js";
export type { DaemonContext } from "./daemon-context.js";
