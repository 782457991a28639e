export * from "./version.js";
export * from "./error-codes.js";
export * from "./errors.js";
export * from "./messages.js";
export * from "./framing.js";
export * from "./peer.js";
export * from "./cancellation.js";
export * from "./json-depth.js";
export * from "./traceparent.js";
// The vscode-jsonrpc adapters are a subpath, "@bkg/protocol/vscode-jsonrpc": the daemon and the
// SDK never load vscode-jsonrpc.
export * from "./deadline-timers.js";
export * from "./json-scan.js";
export * from "./raw-json.js";
