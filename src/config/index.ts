export * from "./config.js";
export { loadConfig, ENV_OVERRIDES, type LoadConfigOptions } from "./load-config.js";
export { findConfigFile, CONFIG_FILE_NAME } from "./find-config-file.js";
export { resolveSocketPath } from "./socket-path.js";
export { ensurePrivateDir } from "./data-dir.js";
