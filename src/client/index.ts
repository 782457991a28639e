export { connect, BkgClient, type ConnectOptions, type CallOptions, type DaemonStatus, type SubscribeOptions } from "./client.js";
