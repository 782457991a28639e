export { connect, BkgClient, type ConnectOptions, type CallOptions, type ControlOptions, type ControlOutcome, type DaemonStatus, type SubscribeOptions } from "./client.js";
