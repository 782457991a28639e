export { definePlugin, type Plugin } from "./define-plugin.js";
export { serve, type ServeOptions } from "./server.js";
export type { CallOptions, Context, LifecycleContext, MethodDefinition, PluginDefinition, HandlerResult } from "./types.js";
export { BkgError, ErrorCodes, PROTOCOL_VERSION, parseTraceparent, type CallMeta, type LogLevel, type TraceContext } from "@bkg/protocol";
