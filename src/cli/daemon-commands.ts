import { spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { connect } from "../client/index.js";
import { isAlive } from "../gateway/socket-probe.js";
import { configOrExit, type GlobalOptions } from "./connect-daemon.js";
import { CliExit, EXIT } from "./output.js";

const BIN = fileURLToPath(new URL("../../bin/bkg", import.meta.url));

export function registerDaemonCommands(program: Command, globals: () => GlobalOptions): void {
  const daemon = program.command("daemon").description("run or stop the bkg daemon");

  daemon
    .command("start")
    .description("start the daemon in the foreground (logs to stdout), or in the background with --detach")
    .option("--detach", "run in the background; logs go to <dataDir>/logs/daemon.log")
    .option("--log-level <level>", "trace | debug | info | warn | error | fatal | silent")
    .option("--log-file <path>", "write the daemon's logs (JSON lines) to this file instead of stdout, rotated by size like plugin logs (logs.maxBytes x logs.files)")
    .action(async (o: { detach?: boolean; logLevel?: string; logFile?: string }) => {
      const g = globals();
      if (o.logLevel) process.env.BKG_LOG_LEVEL = o.logLevel;
      const config = configOrExit(g);
      if (await isAlive(config.socketPath)) throw new CliExit(EXIT.error, `bkg: a daemon is already running at ${config.socketPath}`);
      if (o.detach) return detach(config.dataDir, config.socketPath, g);
      // Loaded here so that every other command starts without the daemon's dependencies.
      const { startDaemon } = await import("../daemon.js");
      let logger: import("../logs/index.js").Logger | undefined;
      if (o.logFile) {
        const { createLogger } = await import("../logs/index.js");
        logger = createLogger(config.logLevel, { file: { path: resolve(o.logFile), ...config.logs } });
      }
      const d = await startDaemon(config, { logger }).catch((e) => {
        throw new CliExit(EXIT.error, `bkg: the daemon could not start: ${(e as Error).message}`);
      });
      const stop = (signal: string) => void d.shutdown(`received ${signal}`);
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
      // A throw or rejection that reached the top is a bug in bkg, not in a client's input: it is
      // logged loudly (the test suite fails on such a line) and the daemon keeps serving, so
      // one bad request cannot take every plugin down with it.
      process.on("uncaughtException", (e) => d.logger.error({ err: e, bug: true }, `bkg bug: uncaught exception: ${e?.message ?? e}`));
      process.on("unhandledRejection", (e) => d.logger.error({ err: e, bug: true }, `bkg bug: unhandled rejection: ${(e as Error)?.message ?? e}`));
      await d.stopped;
      process.exit(0);
    });

  daemon
    .command("stop")
    .description("ask the running daemon to stop gracefully and wait until it has")
    .option("--timeout <ms>", "how long to wait", "30000")
    .action(async (o: { timeout: string }) => {
      const config = configOrExit(globals());
      const client = await connect({ socketPath: config.socketPath }).catch(() => {
        throw new CliExit(EXIT.error, `bkg: no daemon is running at ${config.socketPath}`);
      });
      const { pid } = await client.shutdown();
      client.close();
      const until = Date.now() + Number(o.timeout);
      while (Date.now() < until) {
        if (!(await isAlive(config.socketPath, 200))) {
          process.stdout.write(`bkg daemon (pid ${pid}) stopped\n`);
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new CliExit(EXIT.error, `bkg: the daemon (pid ${pid}) is still running after ${o.timeout} ms`);
    });
}

async function detach(dataDir: string, socketPath: string, g: GlobalOptions): Promise<void> {
  mkdirSync(join(dataDir, "logs"), { recursive: true, mode: 0o700 });
  const logFile = join(dataDir, "logs", "daemon.log");
  // The logger rotates daemon.log itself; anything written around it (a crash before the logger
  // exists, Node's own warnings) lands in daemon.out, which stays small.
  const out = openSync(join(dataDir, "logs", "daemon.out"), "a", 0o600);
  const args = [BIN, ...(g.config ? ["--config", g.config] : []), ...(g.socket ? ["--socket", g.socket] : []), "daemon", "start", "--log-file", logFile];
  const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", out, out], env: { ...process.env, BKG_LOG_FORMAT: "json" } });
  child.unref();
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    if (await isAlive(socketPath, 200)) {
      process.stdout.write(`bkg daemon started in the background (pid ${child.pid})\n  socket: ${socketPath}\n  logs:   ${logFile}\n`);
      return;
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new CliExit(EXIT.error, `bkg: the daemon did not come up; see ${logFile} and ${join(dataDir, "logs", "daemon.out")}`);
}
