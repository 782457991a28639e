import { connect, type BkgClient } from "../client/index.js";
import { ConfigError, loadConfig, resolveSocketPath, type ResolvedConfig } from "../config/index.js";
import { CliExit, EXIT } from "./output.js";

export interface GlobalOptions {
  config?: string;
  socket?: string;
}

/** Loads the config the way the daemon does; exits 78 with one line per problem. */
export function configOrExit(opts: GlobalOptions): ResolvedConfig {
  try {
    const config = loadConfig({ file: opts.config });
    if (opts.socket) config.socketPath = opts.socket;
    return config;
  } catch (e) {
    throw configExit(e);
  }
}

function configExit(e: unknown): unknown {
  if (!(e instanceof ConfigError)) return e;
  const where = e.file ? ` in ${e.file}` : "";
  return new CliExit(EXIT.config, e.problems.map((p) => `bkg: invalid config${where}: ${p.path || "/"}: ${p.message}`).join("\n"));
}

/** Connects to the configured daemon; exits 1 with one clear line when none runs. */
export async function clientOrExit(opts: GlobalOptions): Promise<BkgClient> {
  let socketPath: string;
  try {
    socketPath = opts.socket ?? resolveSocketPath({ file: opts.config });
  } catch (e) {
    throw configExit(e);
  }
  try {
    return await connect({ socketPath });
  } catch (e) {
    throw new CliExit(EXIT.noDaemon, `bkg: ${(e as Error).message}`);
  }
}

/** Runs fn with a connected client and always closes it. */
export async function withClient<T>(opts: GlobalOptions, fn: (c: BkgClient) => Promise<T>): Promise<T> {
  const client = await clientOrExit(opts);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
