/** The public face of the `bkg` package: the client, the protocol types, and the daemon for embedding. */
export { connect, BkgClient, type ConnectOptions, type CallOptions, type ControlOptions, type ControlOutcome, type DaemonStatus, type SubscribeOptions } from "./client/index.js";
export { BkgError, ErrorCodes, ERROR_TABLE, PROTOCOL_VERSION } from "@bkg/protocol";
export type { BusEvent, LifecycleEvent, LogEvent, PluginEmitEvent, PluginState, Topic } from "./events/index.js";
export type { PluginSummary, PluginInfo } from "./supervisor/index.js";
export { loadConfig, type ResolvedConfig } from "./config/index.js";
export { startDaemon, type Daemon } from "./daemon.js";
