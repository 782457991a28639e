/**
 * Where the daemon's socket is, found without validating the whole configuration: every CLI
 * command but `daemon start` needs only this, and skipping the schema keeps them quick. The
 * precedence is loadConfig's: --socket, BKG_SOCKET_PATH, the file's socketPath, then
 * <dataDir>/bkg.sock with dataDir from BKG_DATA_DIR, the file, or ".bkg". The file is --config,
 * BKG_CONFIG, or the nearest bkg.config.json in this folder or a parent.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError } from "./config.js";
import { findConfigFile } from "./find-config-file.js";

export function resolveSocketPath(options: { file?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.file ?? env.BKG_CONFIG;
  const file = explicit ? resolve(cwd, explicit) : findConfigFile(cwd);
  let raw: { socketPath?: unknown; dataDir?: unknown } = {};
  if (file) {
    if (!existsSync(file)) throw new ConfigError([{ path: "", message: `config file ${file} does not exist` }], file);
    try {
      raw = JSON.parse(readFileSync(file, "utf8")) ?? {};
    } catch (e) {
      throw new ConfigError([{ path: "", message: `${file} is not valid JSON: ${(e as Error).message}` }], file);
    }
  }
  const base = file ? dirname(file) : cwd;
  if (env.BKG_SOCKET_PATH) return resolve(base, env.BKG_SOCKET_PATH);
  if (typeof raw.socketPath === "string" && raw.socketPath) return resolve(base, raw.socketPath);
  const dataDir = env.BKG_DATA_DIR || (typeof raw.dataDir === "string" && raw.dataDir) || ".bkg";
  return resolve(base, dataDir, "bkg.sock");
}
