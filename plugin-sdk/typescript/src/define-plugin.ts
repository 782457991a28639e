import type { RpcPeer } from "@bkg/protocol";
import { serve, type ServeOptions } from "./server.js";
import type { PluginDefinition } from "./types.js";

export interface Plugin extends PluginDefinition {
  /** Starts serving on stdin/stdout (or the given streams). Call once per process. */
  serve(options?: ServeOptions): RpcPeer;
}

/**
 * Declares a plugin. Nothing happens until `.serve()`; a plugin's entry file is typically
 * `definePlugin({...}).serve()`. Method names must not contain the plugin-name separator at the start.
 */
export function definePlugin(def: PluginDefinition): Plugin {
  for (const name of Object.keys(def.methods)) {
    if (!/^[A-Za-z_][\w.-]*$/.test(name)) throw new TypeError(`method name "${name}" must start with a letter or _ and hold only letters, digits, _ - .`);
  }
  return { ...def, serve: (options?: ServeOptions) => serve(def, options) };
}
