/**
 * Boots a real bkg daemon (`node <the daemon's node flags> bin/bkg daemon start`, built code
 * from dist/) in a throwaway folder, as a user would run it, and hands back a connected client.
 * The process is tracked: it dies with the benchmark whatever happens.
 */
import type { ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { connect, type BkgClient } from "bkg";
import { BIN, ECHO_DIR, ROOT } from "./paths.js";
import { killTree, onCleanup, spawnTracked, waitFor, withTimeout } from "./procs.js";

export interface BenchDaemon {
  dir: string;
  manifestsDir: string;
  socketPath: string;
  proc: ChildProcess;
  pid: number;
  client: BkgClient;
  /** When `node bin/bkg daemon start` was spawned (performance.now()). */
  spawnedAt: number;
  output(): string;
  writeManifest(name: string, manifest: Record<string, unknown>): string;
  /** Connects (again) once the socket answers; fails early, with the daemon's output, if it died. */
  connect(timeoutMs?: number): Promise<BkgClient>;
  /** Resolves when every named plugin is ready. */
  waitReady(names: string[], timeoutMs?: number): Promise<void>;
  /** Pids of the plugin's ready instances, from bkg.plugins.list. */
  pluginPids(name: string): Promise<number[]>;
  /** Graceful stop (SIGTERM, then SIGKILL after 10 s); removes the folder. Idempotent. */
  stop(): Promise<void>;
}

export interface BootOptions {
  manifests?: Record<string, Record<string, unknown>>;
  /** Merged into the daemon's bkg.config.json. */
  config?: Record<string, unknown>;
  /** Node flags for the daemon process (e.g. --cpu-prof). */
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** Do not wait for the socket (start-up timing does its own waiting). */
  noConnect?: boolean;
  /** Another checkout's bin/bkg to run (a built worktree of an older commit, to compare with); default this one's. */
  bin?: string;
}

/** A manifest the repo ships (`manifests/<name>.json` under `root`, default this checkout), without its `$schema`. */
export function shippedManifest(name: string, root = ROOT): Record<string, unknown> {
  const m = JSON.parse(readFileSync(join(root, "manifests", `${name}.json`), "utf8")) as Record<string, unknown>;
  delete m.$schema;
  return m;
}

/** The echo plugin's manifest, as the tests write it (restart backoff as the daemon's default unless given). */
export function echoManifest(name = "echo", extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    version: "1.0.0",
    command: ["node", "dist/index.js"],
    cwd: ECHO_DIR,
    provides: ["echo", "reverse", "sleep", "stream", "fail", "crash", "relay", "pid"],
    permissions: [`${name}.*`],
    ...extra,
  };
}

/**
 * node's arguments for the daemon of the checkout that `bin` belongs to: the flags its
 * `bkg daemon start --detach` gives (src/cli/daemon-node-flags.ts; none for a checkout from
 * before it had any), where the benchmark's own `extra` do not set them, then `extra`.
 */
async function daemonNodeArgs(bin: string, extra: string[], nodeOptions: string): Promise<string[]> {
  const file = join(dirname(dirname(bin)), "dist", "cli", "daemon-node-flags.js");
  if (!existsSync(file)) return extra;
  const { daemonNodeFlags } = (await import(pathToFileURL(file).href)) as { daemonNodeFlags(execArgv: string[], nodeOptions: string): string[] };
  // daemonNodeFlags takes a flag `extra` sets from `extra`: that one is already in the list.
  return [...daemonNodeFlags(extra, nodeOptions).filter((f) => !extra.includes(f)), ...extra];
}

export async function bootDaemon(opts: BootOptions = {}): Promise<BenchDaemon> {
  const dir = mkdtempSync(join(tmpdir(), "bkg-bench-"));
  const removeDir = onCleanup(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const manifestsDir = join(dir, "manifests");
  mkdirSync(manifestsDir);
  const writeManifest = (name: string, m: Record<string, unknown>) => {
    const file = join(manifestsDir, `${name}.json`);
    writeFileSync(file, JSON.stringify(m, null, 2));
    return file;
  };
  for (const [name, m] of Object.entries(opts.manifests ?? { echo: echoManifest() })) writeManifest(name, m);
  const configFile = join(dir, "bkg.config.json");
  const socketPath = join(dir, "bkg.sock");
  // The daemon gives plugins BKG_MODELS_DIR from models.dir and a manifest cannot override it
  // (since the model store landed): a model plugin's manifest that names a models folder makes
  // it the daemon's models.dir, as test/helpers/daemon.ts does.
  const namedModelsDir = Object.values(opts.manifests ?? {})
    .map((m) => (m.env as Record<string, unknown> | undefined)?.BKG_MODELS_DIR)
    .find((v): v is string => typeof v === "string");
  const config = namedModelsDir && !opts.config?.models ? { models: { dir: namedModelsDir }, ...opts.config } : opts.config;
  writeFileSync(configFile, JSON.stringify({ manifestsDir: "manifests", dataDir: "data", socketPath: "bkg.sock", logLevel: "info", http: { enabled: false }, ...config }));
  const env: NodeJS.ProcessEnv = { ...process.env, BKG_LOG_FORMAT: "json", ...opts.env };
  delete env.BKG_CONFIG;
  // The daemon logs to a file through --log-file, as `bkg daemon start --detach` starts it, so its
  // log lines cost the benchmark process nothing and take the path an operator's daemon takes
  // (the HTTP access log writes one line per request). Its stdout and stderr (say, --trace-gc)
  // are appended to the same file.
  const logFile = join(dir, "daemon.log");
  const logFd = openSync(logFile, "a");
  const spawnedAt = performance.now();
  const bin = opts.bin ?? BIN;
  const nodeArgs = await daemonNodeArgs(bin, opts.nodeArgs ?? [], env.NODE_OPTIONS ?? "");
  const proc = spawnTracked(process.execPath, [...nodeArgs, bin, "--config", configFile, "daemon", "start", "--log-file", logFile], {
    env,
    cwd: dir,
    stdio: ["ignore", logFd, logFd],
  });
  closeSync(logFd);
  const output = () => {
    try {
      return readFileSync(logFile, "utf8").slice(-4000);
    } catch {
      return "(no daemon log)";
    }
  };
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));

  let client: BkgClient | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    client?.close();
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      try {
        await withTimeout(exited, 10_000, "daemon stop");
      } catch {
        killTree(proc.pid);
      }
    }
    await removeDir();
  };
  onCleanup(`stop daemon in ${dir}`, stop);

  const d: BenchDaemon = {
    dir,
    manifestsDir,
    socketPath,
    proc,
    pid: proc.pid!,
    get client() {
      if (!client) throw new Error("not connected");
      return client;
    },
    spawnedAt,
    output,
    writeManifest,
    async waitReady(names, timeoutMs = 20_000) {
      await waitFor(
        async () => {
          const list = await d.client.plugins.list();
          return names.every((n) => list.find((p) => p.name === n)?.state === "ready");
        },
        `plugins ${names.slice(0, 3).join(", ")}${names.length > 3 ? "…" : ""} to be ready`,
        timeoutMs,
      );
    },
    async pluginPids(name) {
      const p = (await d.client.plugins.list()).find((x) => x.name === name);
      return (p?.instances ?? []).filter((i) => i.state === "ready" && typeof i.pid === "number").map((i) => i.pid!);
    },
    async connect(timeoutMs = 15_000) {
      client?.close();
      client = await waitFor(
        async () => {
          if (proc.exitCode !== null) throw new Error(`the daemon exited (code ${proc.exitCode}):\n${output()}`);
          try {
            return await connect({ socketPath, connectTimeoutMs: 200 });
          } catch {
            return undefined;
          }
        },
        "the daemon's socket",
        timeoutMs,
        5,
      );
      return client;
    },
    stop,
  };
  if (!opts.noConnect) await d.connect();
  return d;
}
