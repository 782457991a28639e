/**
 * Moleculer as a peer of the socket scenario: a calling ServiceBroker in this process and a
 * serving one (bench/baselines/moleculer-echo.js) in a child, joined by Moleculer's TCP
 * transporter (JSON serializer, its defaults otherwise; static urls instead of UDP discovery,
 * so nothing leaves loopback). One hop, two processes: the action runs inside the serving broker.
 */
import { join } from "node:path";
import moleculer from "moleculer";
import { exitWithin, once } from "./baselines.js";
import { freePort } from "./gateway.js";
import { BASELINES } from "./paths.js";
import { onCleanup, spawnTracked, tail, waitFor } from "./procs.js";

/** The installed moleculer's version, for the notes. */
export const moleculerVersion = (): string => moleculer.ServiceBroker.MOLECULER_VERSION;

export interface MoleculerPeer {
  call(payload: unknown): Promise<unknown>;
  /** The serving broker's process (this process is the caller). */
  pids: { child: number };
  close(): Promise<void>;
}

/** Starts the serving broker (with `nodeArgs`, e.g. --cpu-prof) and connects a caller to it. */
export async function startMoleculerTcp(nodeArgs: string[] = []): Promise<MoleculerPeer> {
  const serverPort = await freePort();
  const callerPort = await freePort();
  const proc = spawnTracked(process.execPath, [...nodeArgs, join(BASELINES, "moleculer-echo.js"), "tcp", String(serverPort), String(callerPort)], { stdio: ["ignore", "pipe", "pipe"] });
  const out = tail(proc.stdout);
  const err = tail(proc.stderr);
  const caller = new moleculer.ServiceBroker({
    nodeID: "bench-caller",
    transporter: { type: "TCP", options: { udpDiscovery: false, port: callerPort, urls: `127.0.0.1:${serverPort}/bench-server` } },
    logger: false,
  });
  const close = once(async () => {
    await caller.stop().catch(() => undefined);
    proc.kill("SIGTERM");
    await exitWithin(proc, 5000);
  });
  onCleanup("Moleculer TCP brokers", close);
  await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`the Moleculer server broker exited: ${err()}`);
      return out().includes("ready");
    },
    "the Moleculer server broker",
    20_000,
  );
  await caller.start();
  await caller.waitForServices("echo", 20_000);
  return { call: (p) => caller.call("echo.echo", p as Record<string, unknown>), pids: { child: proc.pid! }, close };
}
