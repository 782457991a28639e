export { definePlugin, type Plugin } from "./define-plugin.js";
export { serve, type ServeOptions } from "./server.js";
export type { Context, LifecycleContext, MethodDefinition, PluginDefinition, HandlerResult } from "./types.js";
export { BkgError, ErrorCodes, PROTOCOL_VERSION, type CallMeta, type LogLevel } from "@bkg/protocol";
