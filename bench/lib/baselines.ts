/**
 * Starts the baseline programs in bench/baselines/ and connects to them with plain
 * vscode-jsonrpc (its own StreamMessageReader/Writer, no bkg code), the way the issue's
 * LIMIT-A and LIMIT-C were measured.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from "vscode-jsonrpc/node";
import { BASELINES } from "./paths.js";
import { descendants, killTree, onCleanup, spawnTracked, tail, waitFor, withTimeout } from "./procs.js";

export interface Baseline {
  connection: MessageConnection;
  /** Processes on the measured path besides this one, by role. */
  pids: Record<string, number>;
  proc: ChildProcess;
  close(): Promise<void>;
}

/** LIMIT-A: this process -> stdio -> bench/baselines/echo-child.js. */
export function startDirectChild(): Baseline {
  const proc = spawnTracked(process.execPath, [join(BASELINES, "echo-child.js")], { stdio: ["pipe", "pipe", "inherit"] });
  const connection = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  connection.listen();
  const close = once(async () => {
    connection.dispose();
    proc.stdin?.end();
    await exitWithin(proc, 2000);
  });
  onCleanup("LIMIT-A child", close);
  return { connection, pids: { child: proc.pid! }, proc, close };
}

/** LIMIT-C: this process -> unix socket -> bench/baselines/relay.js -> stdio -> echo-child.js. */
export async function startRelay(): Promise<Baseline> {
  const dir = mkdtempSync(join(tmpdir(), "bkg-bench-relay-"));
  const socketPath = join(dir, "relay.sock");
  const proc = spawnTracked(process.execPath, [join(BASELINES, "relay.js"), socketPath], { stdio: ["ignore", "pipe", "pipe"] });
  const out = tail(proc.stdout);
  const err = tail(proc.stderr);
  let connection: MessageConnection | undefined;
  let socket: ReturnType<typeof createConnection> | undefined;
  const close = once(async () => {
    connection?.dispose();
    socket?.destroy();
    proc.kill("SIGTERM");
    await exitWithin(proc, 2000);
    rmSync(dir, { recursive: true, force: true });
  });
  onCleanup("LIMIT-C relay", close);
  await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`relay exited: ${err()}`);
      return out().includes("ready");
    },
    "the relay to listen",
    10_000,
  );
  socket = createConnection(socketPath);
  await new Promise<void>((res, rej) => socket!.once("connect", res).once("error", rej));
  connection = createMessageConnection(new StreamMessageReader(socket), new StreamMessageWriter(socket));
  connection.listen();
  const child = await waitFor(() => descendants(proc.pid!)[0], "the relay's child", 5000);
  return { connection, pids: { relay: proc.pid!, child }, proc, close };
}

/** Waits for a process to exit, SIGKILLing its tree after `ms`. */
export async function exitWithin(proc: ChildProcess, ms: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  try {
    await withTimeout(exited, ms, "exit");
  } catch {
    killTree(proc.pid);
    await exited;
  }
}

/** Wraps an async function so only its first call runs; later calls share the first promise. */
export function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}

export interface ListeningBaseline {
  port: number;
  pids: Record<string, number>;
  close(): Promise<void>;
}

/** Starts a baseline server (bench/baselines/<file>) that prints "listening <port>". */
export async function startListening(file: string, args: string[] = []): Promise<ListeningBaseline> {
  const proc = spawnTracked(process.execPath, [join(BASELINES, file), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const out = tail(proc.stdout);
  const err = tail(proc.stderr);
  const close = once(async () => {
    proc.kill("SIGTERM");
    await exitWithin(proc, 2000);
  });
  onCleanup(file, close);
  const port = await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`${file} exited: ${err()}`);
      const m = /listening (\d+)/.exec(out());
      return m ? Number(m[1]) : undefined;
    },
    `${file} to listen`,
    10_000,
  );
  const child = await waitFor(() => descendants(proc.pid!)[0], `${file}'s child`, 5000);
  return { port, pids: { server: proc.pid!, child }, close };
}
