/**
 * A throwaway nats-server on a free loopback port, for the cluster bench and its tools (Debian's
 * nats-server package; the test setup installs it). Tracked like every process the bench spawns.
 */
import { freePort } from "./gateway.js";
import { killTree, spawnTracked, tail, waitFor } from "./procs.js";

export interface NatsServer {
  url: string;
  pid: number;
  stop(): void;
}

export async function startNatsServer(): Promise<NatsServer> {
  const port = await freePort();
  const proc = spawnTracked("nats-server", ["-a", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  const out = tail(proc.stderr!);
  await waitFor(() => out().includes("Server is ready"), "nats-server to be ready");
  return { url: `nats://127.0.0.1:${port}`, pid: proc.pid!, stop: () => killTree(proc.pid!) };
}
