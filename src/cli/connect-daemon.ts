import { connect, type BkgClient } from "../client/index.js";
import { ConfigError, loadConfig, type ResolvedConfig } from "../config/index.js";
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
    if (e instanceof ConfigError) {
      const where = e.file ? ` in ${e.file}` : "";
      throw new CliExit(EXIT.config, e.problems.map((p) => `bkg: invalid config${where}: ${p.path || "/"}: ${p.message}`).join("\n"));
    }
    throw e;
  }
}

/** Connects to the configured daemon; exits 1 with one clear line when none runs. */
export async function clientOrExit(opts: GlobalOptions): Promise<BkgClient> {
  const config = configOrExit(opts);
  try {
    return await connect({ socketPath: config.socketPath });
  } catch (e) {
    throw new CliExit(EXIT.error, `bkg: ${(e as Error).message}`);
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
