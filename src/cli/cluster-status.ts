/** bkg status --cluster: every daemon writing to this store, its plugins, and when it was last heard from. */
import type { BkgClient } from "../client/index.js";
import { duration, printJson, printTable } from "./output.js";

export async function printClusterStatus(c: BkgClient, json?: boolean): Promise<void> {
  const nodes = await c.cluster.nodes();
  if (json) return printJson(nodes);
  // The NATS link, when this daemon is in cluster mode (an error otherwise: nothing to show).
  const bus = await c.cluster.bus().catch(() => undefined);
  const now = Date.now();
  if (bus) {
    const link = bus.bus.connected ? `connected to ${bus.bus.server}` : `NOT connected: ${bus.bus.reason}`;
    process.stdout.write(
      `cluster bus: ${link}; routing ${bus.routing}; ${bus.nodes.length} other node(s) heard: ${bus.nodes.map((n) => n.node + (n.refused ? " (refused)" : n.leaving ? " (leaving)" : "")).join(", ") || "none"}\n`,
    );
  }
  printTable(
    ["NODE", "HOST", "PID", "VERSION", "STATE", "LAST SEEN", "UP", "PLUGINS"],
    nodes.map((n) => [
      n.self ? `${n.nodeId} (this)` : n.nodeId,
      n.hostname,
      n.pid,
      n.version,
      n.stale ? "lost?" : n.state,
      n.self ? "now" : `${duration(Math.max(0, now - n.lastSeen))} ago`,
      n.state === "running" && !n.stale ? duration(now - n.startedAt) : "-",
      n.plugins.map((p) => `${p.name}:${p.state}`).join(" ") || "-",
    ]),
    120,
  );
}
