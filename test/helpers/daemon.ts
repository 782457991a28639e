/**
 * Boots a real daemon process (bin/bkg daemon start) in a throwaway folder and hands back a
 * connected client. Every test that uses it tears it down, even on failure.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type BkgClient } from "../../src/client/index.js";
import type { BusEvent } from "../../src/events/index.js";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const BIN = join(ROOT, "bin", "bkg");
export const ECHO_DIR = join(ROOT, "plugins", "echo");
export const ROGUE = join(ROOT, "test", "fixtures", "plugins", "rogue.mjs");
export const APIKEYS_DIR = join(ROOT, "plugins", "apikeys");
/** The password of the admin apikeysManifest() bootstraps. */
export const ADMIN_PASSWORD = "correct horse battery staple";

export interface TestDaemon {
  dir: string;
  manifestsDir: string;
  socketPath: string;
  configFile: string;
  proc: ChildProcess;
  client: BkgClient;
  /** Everything the daemon printed (JSON log lines). */
  output(): string;
  /** The first complete output line containing `needle`, parsed; waits for it (a line may arrive in pieces). */
  logLine(needle: string, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  writeManifest(name: string, manifest: Record<string, unknown>): string;
  removeManifest(name: string): void;
  /** Runs bin/bkg against this daemon; resolves with exit code and output. */
  cli(args: string[], opts?: { timeoutMs?: number; input?: string }): Promise<{ code: number | null; stdout: string; stderr: string }>;
  waitFor(pred: () => Promise<boolean> | boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Waits until one of a plugin's instances has a call in flight (before cancelling it, say). */
  waitInFlight(name: string): Promise<void>;
  /** Waits for a plugin to reach a state (as bkg.plugins.list shows it). */
  waitState(name: string, state: string | string[], timeoutMs?: number): Promise<void>;
  events: BusEvent[];
  /** The HTTP control API's base URL (http://127.0.0.1:<port>), unless http.enabled is false. */
  httpUrl?: string;
  /** host:port of gRPC bkg.v1.Bus when grpc.enabled. */
  grpcAddress?: string;
  /** The root token the daemon created in its data folder. */
  rootToken(): string;
  stop(): Promise<void>;
}

export function echoManifest(name = "echo", extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    version: "1.0.0",
    command: ["node", "dist/index.js"],
    cwd: ECHO_DIR,
    provides: ["echo", "reverse", "sleep", "stream", "fail", "crash", "relay", "pid", "block"],
    permissions: [`${name}.*`],
    restart: { backoff: { initialMs: 20, maxMs: 200 } },
    ...extra,
  };
}

/** The real apikeys plugin (manifests/apikeys.json) with an absolute cwd, cheap bcrypt, and an admin "admin" / ADMIN_PASSWORD. */
export function apikeysManifest(extra: Record<string, unknown> = {}, config: Record<string, unknown> = {}): Record<string, unknown> {
  const m = JSON.parse(readFileSync(join(ROOT, "manifests", "apikeys.json"), "utf8")) as Record<string, unknown>;
  delete m.$schema;
  return {
    ...m,
    cwd: APIKEYS_DIR,
    watch: [],
    restart: { policy: "always", backoff: { initialMs: 20, maxMs: 200 } },
    config: { ...(m.config as object), bcryptRounds: 4, bootstrapAdmin: { username: "admin", password: ADMIN_PASSWORD }, ...config },
    ...extra,
  };
}

export function rogueManifest(name: string, scenario: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, version: "0.0.1", command: ["node", ROGUE, scenario], provides: [], restart: { backoff: { initialMs: 20, maxMs: 200 } }, ...extra };
}

export async function startTestDaemon(
  manifests: Record<string, Record<string, unknown>> = { echo: echoManifest() },
  config: Record<string, unknown> = {},
  /** env: extra variables in the daemon's environment. */
  options: { env?: Record<string, string> } = {},
): Promise<TestDaemon> {
  const dir = mkdtempSync(join(tmpdir(), "bkg-"));
  const manifestsDir = join(dir, "manifests");
  mkdirSync(manifestsDir);
  const writeManifest = (name: string, m: Record<string, unknown>) => {
    const file = join(manifestsDir, `${name}.json`);
    writeFileSync(file, JSON.stringify(m, null, 2));
    return file;
  };
  for (const [name, m] of Object.entries(manifests)) writeManifest(name, m);
  const configFile = join(dir, "bkg.config.json");
  const socketPath = join(dir, "bkg.sock");
  // HTTP on a free port unless the test says otherwise (many daemons run at once).
  const http = { port: 0, ...(config.http as Record<string, unknown> | undefined) };
  // The daemon gives plugins BKG_MODELS_DIR from models.dir and a manifest cannot override it; a
  // test whose model plugin names a models folder in its manifest gets that folder as models.dir.
  const named = Object.values(manifests)
    .map((m) => (m.env as Record<string, unknown> | undefined)?.BKG_MODELS_DIR)
    .find((v): v is string => typeof v === "string");
  if (named && !config.models) config = { ...config, models: { dir: named } };
  writeFileSync(configFile, JSON.stringify({ manifestsDir: "manifests", dataDir: "data", socketPath: "bkg.sock", logLevel: "debug", ...config, http }));
  const env = { ...process.env, ...options.env, BKG_LOG_FORMAT: "json" };
  delete env.BKG_CONFIG;
  const proc = spawn(process.execPath, [BIN, "--config", configFile, "daemon", "start"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));

  const waitFor = async (pred: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (await pred()) return;
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n--- daemon output ---\n${out.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  let client: BkgClient | undefined;
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`daemon exited with ${proc.exitCode}:\n${out}`);
      try {
        client = await connect({ socketPath, connectTimeoutMs: 200 });
        return true;
      } catch {
        return false;
      }
    },
    "the daemon's socket",
    30_000,
  );
  const events: BusEvent[] = [];
  await client!.subscribe({}, (e) => events.push(e));
  // The socket answers before the HTTP/gRPC servers are bound; wait for their addresses.
  const grpcOn = (config.grpc as { enabled?: boolean } | undefined)?.enabled === true;
  let endpoints: Awaited<ReturnType<BkgClient["status"]>> | undefined;
  if (http.enabled !== false || grpcOn) {
    await waitFor(async () => {
      endpoints = await client!.status();
      return (http.enabled === false || Boolean(endpoints.http)) && (!grpcOn || Boolean(endpoints.grpc));
    }, "the HTTP/gRPC servers");
  }

  const d: TestDaemon = {
    dir,
    manifestsDir,
    socketPath,
    configFile,
    proc,
    client: client!,
    events,
    httpUrl: endpoints?.http?.url,
    grpcAddress: endpoints?.grpc?.address,
    rootToken: () => readFileSync(join(dir, "data", "root.token"), "utf8").trim(),
    output: () => out,
    logLine: async (needle, what, timeoutMs) => {
      let found: Record<string, unknown> | undefined;
      await waitFor(
        () => {
          const complete = out.slice(0, out.lastIndexOf("\n") + 1);
          found = complete
            .split("\n")
            .filter((l) => l.includes(needle))
            .map((l) => {
              try {
                return JSON.parse(l) as Record<string, unknown>;
              } catch {
                return undefined;
              }
            })
            .find((v) => v !== undefined);
          return found !== undefined;
        },
        what,
        timeoutMs,
      );
      return found!;
    },
    writeManifest,
    removeManifest: (name) => rmSync(join(manifestsDir, `${name}.json`)),
    cli: (args, opts = {}) =>
      new Promise((res) => {
        const p = spawn(process.execPath, [BIN, "--config", configFile, ...args], { env, stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
        if (opts.input !== undefined) p.stdin!.end(opts.input);
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (x) => (stdout += x));
        p.stderr.on("data", (x) => (stderr += x));
        const t = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 15_000);
        p.on("close", (code) => {
          clearTimeout(t);
          res({ code, stdout, stderr });
        });
      }),
    waitFor,
    waitInFlight: (name) => waitFor(async () => (await d.client.plugins.info(name)).instances.some((i) => i.inflight > 0), `a call to ${name} to be in flight`),
    waitState: (name, state, timeoutMs) => {
      const want = Array.isArray(state) ? state : [state];
      return waitFor(async () => want.includes((await d.client.plugins.list()).find((p) => p.name === name)?.state ?? "absent"), `${name} to be ${want.join(" or ")}`, timeoutMs);
    },
    async stop() {
      d.client.close();
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
      // An uncaught exception or unhandled rejection in the daemon is a bug even if it kept serving.
      const bugs = out.split("\n").filter((l) => l.includes('"bug":true'));
      if (bugs.length) throw new Error(`the daemon logged ${bugs.length} bug(s) (uncaught exception / unhandled rejection):\n${bugs.slice(0, 3).join("\n")}`);
      // A move outside the plugin state table (src/supervisor/plugin-state.ts) is a bug too.
      const jumps = out.split("\n").filter((l) => l.includes('"unexpectedTransition":true'));
      if (jumps.length) throw new Error(`the daemon logged ${jumps.length} unexpected plugin state change(s):\n${jumps.slice(0, 3).join("\n")}`);
    },
  };
  return d;
}
