import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { connect } from "../client/index.js";
import { isAlive } from "../gateway/socket-probe.js";
import { configOrExit, type GlobalOptions } from "./connect-daemon.js";
import { CliExit, EXIT } from "./output.js";
import { removeUserUnit, userUnit, userUnitPath, writeUserUnit } from "./systemd-unit.js";
import { daemonNodeFlags } from "./daemon-node-flags.js";
import { BKG_BIN } from "../package-root.js";

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
      if (o.detach) return detach(config, g);
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

  registerInstallCommands(daemon, globals);

  daemon
    .command("stop")
    .description("ask the running daemon to stop gracefully and wait until it has")
    .option("--timeout <ms>", "how long to wait", "30000")
    .action(async (o: { timeout: string }) => {
      const config = configOrExit(globals());
      // Stopping what does not run reaches the state asked for: a success, as with systemctl stop.
      const client = await connect({ socketPath: config.socketPath }).catch(() => undefined);
      if (!client) {
        process.stdout.write(`no bkg daemon is running at ${config.socketPath}: nothing to stop\n`);
        return;
      }
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

function registerInstallCommands(daemon: Command, globals: () => GlobalOptions): void {
  daemon
    .command("install")
    .description("write a systemd user unit that runs this daemon with this config (like pm2 startup); see docs/cli.md")
    .option("--name <name>", "the unit's name", "bkg")
    .option("--print", "print the unit instead of writing it")
    .option("--force", "replace an existing unit file with other content")
    .option("--enable", "also run `systemctl --user enable --now NAME`")
    .action((o: { name: string; print?: boolean; force?: boolean; enable?: boolean }) => {
      if (!/^[A-Za-z0-9@._-]+$/.test(o.name)) throw new CliExit(EXIT.usage, `bkg: --name "${o.name}" is not a valid unit name (letters, digits, @ . _ -)`);
      const config = configOrExit(globals());
      const text = userUnit({
        node: process.execPath,
        nodeFlags: daemonNodeFlags(),
        bin: BKG_BIN,
        config: config.file,
        workingDirectory: config.file ? dirname(config.file) : process.cwd(),
        name: o.name,
      });
      if (o.print) return void process.stdout.write(text);
      const path = userUnitPath(o.name);
      let did: string;
      try {
        did = writeUserUnit(path, text, o.force === true);
      } catch (e) {
        throw new CliExit(EXIT.error, `bkg: ${(e as Error).message}`);
      }
      process.stdout.write(`${did === "written" ? "wrote" : "already installed:"} ${path}\n`);
      if (!o.enable) {
        process.stdout.write(
          `start it now and at every login with:\n  systemctl --user daemon-reload && systemctl --user enable --now ${o.name}\n(at boot without a login: loginctl enable-linger $USER)\n`,
        );
        return;
      }
      for (const args of [
        ["--user", "daemon-reload"],
        ["--user", "enable", "--now", o.name],
      ]) {
        const r = spawnSync("systemctl", args, { encoding: "utf8" });
        if (r.status !== 0) throw new CliExit(EXIT.error, `bkg: systemctl ${args.join(" ")} failed: ${(r.stderr || r.error?.message || "").trim()}`);
      }
      process.stdout.write(`enabled and started ${o.name} (journalctl --user -u ${o.name} shows its logs)\n`);
    });

  daemon
    .command("uninstall")
    .description("remove the systemd user unit written by bkg daemon install")
    .option("--name <name>", "the unit's name", "bkg")
    .action((o: { name: string }) => {
      const path = userUnitPath(o.name);
      process.stdout.write(removeUserUnit(path) ? `removed ${path} (systemctl --user disable --now ${o.name} stops it if it runs)\n` : `no unit at ${path}: nothing to remove\n`);
    });
}

async function detach(config: ReturnType<typeof configOrExit>, g: GlobalOptions): Promise<void> {
  const { dataDir, socketPath } = config;
  mkdirSync(join(dataDir, "logs"), { recursive: true, mode: 0o700 });
  const logFile = join(dataDir, "logs", "daemon.log");
  // The logger rotates daemon.log itself; anything written around it (a crash before the logger
  // exists, Node's own warnings) lands in daemon.out, which stays small.
  const out = openSync(join(dataDir, "logs", "daemon.out"), "a", 0o600);
  const args = [BKG_BIN, ...(g.config ? ["--config", g.config] : []), ...(g.socket ? ["--socket", g.socket] : []), "daemon", "start", "--log-file", logFile];
  const child = spawn(process.execPath, [...daemonNodeFlags(), ...args], { detached: true, stdio: ["ignore", out, out], env: { ...process.env, BKG_LOG_FORMAT: "json" } });
  child.unref();
  const until = Date.now() + 30_000;
  while (Date.now() < until && child.exitCode === null) {
    // The socket answers first; HTTP and gRPC open a moment later. A script's next line after
    // `--detach` (curl, a token read) needs all of them, so this returns when they are up.
    const http = await listening(socketPath, config);
    if (http !== undefined) {
      const where = http ? `\n  http:   ${http}` : "";
      process.stdout.write(`bkg daemon started in the background (pid ${child.pid})\n  socket: ${socketPath}${where}\n  logs:   ${logFile}\n`);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new CliExit(EXIT.error, `bkg: the daemon did not come up; see ${logFile} and ${join(dataDir, "logs", "daemon.out")}`);
}

/** The HTTP URL ("" when HTTP is off) once the daemon serves every surface its config turns on; undefined before. */
async function listening(socketPath: string, config: ReturnType<typeof configOrExit>): Promise<string | undefined> {
  if (!(await isAlive(socketPath, 200))) return undefined;
  const c = await connect({ socketPath }).catch(() => undefined);
  if (!c) return undefined;
  try {
    const s = await c.status();
    if (config.http.enabled && !s.http) return undefined;
    if (config.grpc.enabled && !s.grpc) return undefined;
    return s.http?.url ?? "";
  } catch {
    return undefined;
  } finally {
    c.close();
  }
}
