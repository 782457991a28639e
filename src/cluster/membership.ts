/**
 * The other nodes, as their announcements describe them: which plugins each serves, at which
 * version, and how many of our calls are in flight there (the per-node bulkhead). Pure state;
 * the NATS side (cluster.ts) feeds it and asks it where a call may go.
 */
import satisfies from "semver/functions/satisfies.js";
import { BATCH_FORMAT } from "./batch-wire.js";
import { CLUSTER_PROTOCOL, type Announce, type AnnouncedPlugin } from "./wire.js";

export interface RemoteNode {
  node: string;
  run: string;
  version: string;
  hostname: string;
  pid: number;
  plugins: Map<string, AnnouncedPlugin>;
  lastSeen: number;
  /** Our calls in flight on it. */
  inflight: number;
  /** Why no call is routed to it (another protocol major), when set. */
  refused?: string;
  /** Said goodbye, or stopped taking calls: it finishes what it has and gets no new ones. */
  leaving?: boolean;
  /** Wants our plugins' log lines (a client there reads logs). */
  logs?: boolean;
  /** Reads batch frames: our calls and replies to it go many per message. */
  batch?: boolean;
}

export type AnnounceOutcome = "joined" | "updated" | "restarted" | "refused" | "duplicate";

export class Membership {
  readonly nodes = new Map<string, RemoteNode>();
  private turn = 0;

  constructor(
    private readonly self: { node: string; run: string },
    /** Our calls in flight on one node at most; further calls go to other nodes or fail -33002. */
    readonly maxInflightPerNode: number,
  ) {}

  /** Takes an announcement. `duplicate`: another daemon claims our node id. */
  announce(a: Announce, now = Date.now()): AnnounceOutcome {
    if (a.node === this.self.node) return a.run === this.self.run ? "updated" : "duplicate";
    const known = this.nodes.get(a.node);
    const plugins = new Map(a.plugins.map((p) => [p.name, p]));
    const refused =
      a.v !== CLUSTER_PROTOCOL
        ? `node ${a.node} speaks cluster protocol ${a.v} (bkg ${a.version}); this node speaks ${CLUSTER_PROTOCOL} (bkg version in its announcement differs): no calls are routed to it until both run the same major`
        : undefined;
    if (known && known.run === a.run) {
      // A node that said goodbye stays leaving even if a late announcement arrives.
      Object.assign(known, { version: a.version, hostname: a.hostname, pid: a.pid, plugins, lastSeen: now, refused, logs: a.logs === true, batch: a.batch === BATCH_FORMAT });
      return refused ? "refused" : "updated";
    }
    this.nodes.set(a.node, {
      node: a.node,
      run: a.run,
      version: a.version,
      hostname: a.hostname,
      pid: a.pid,
      plugins,
      lastSeen: now,
      inflight: 0,
      refused,
      logs: a.logs === true,
      batch: a.batch === BATCH_FORMAT,
    });
    if (refused) return "refused";
    return known ? "restarted" : "joined";
  }

  remove(node: string): RemoteNode | undefined {
    const n = this.nodes.get(node);
    this.nodes.delete(node);
    return n;
  }

  /** Nodes not heard from since `before`. */
  silentSince(before: number): RemoteNode[] {
    return [...this.nodes.values()].filter((n) => n.lastSeen < before);
  }

  /**
   * The remote nodes that could take a call to `plugin` now: same protocol, a ready instance,
   * a version in `range` (the caller's `requires`, when it has one), and room in the bulkhead.
   * `full` counts the nodes that would qualify but are at their limit.
   */
  candidates(plugin: string, range?: string, exclude?: ReadonlySet<string>, silentBefore = 0): { nodes: RemoteNode[]; full: number } {
    const nodes: RemoteNode[] = [];
    let full = 0;
    for (const n of this.nodes.values()) {
      if (n.refused || n.leaving || n.lastSeen < silentBefore || exclude?.has(n.node)) continue;
      const p = n.plugins.get(plugin);
      if (!p?.ready || (range && !satisfies(p.version, range))) continue;
      if (n.inflight >= this.maxInflightPerNode) full++;
      else nodes.push(n);
    }
    return { nodes, full };
  }

  /** A node that serves `plugin` in `range` (busy or not), for its timeouts. */
  anyServing(plugin: string, range?: string): RemoteNode | undefined {
    for (const n of this.nodes.values()) {
      const p = n.plugins.get(plugin);
      if (p?.ready && !n.refused && !n.leaving && (!range || satisfies(p.version, range))) return n;
    }
    return undefined;
  }

  /** The candidate with the fewest of our calls in flight; ties take turns. */
  pick(nodes: RemoteNode[]): RemoteNode | undefined {
    if (nodes.length <= 1) return nodes[0];
    let min = Infinity;
    for (const n of nodes) min = Math.min(min, n.inflight);
    const least = nodes.filter((n) => n.inflight === min);
    return least[this.turn++ % least.length];
  }

  /** Every version of `plugin` some node announces, for error messages. */
  versionsOf(plugin: string): string[] {
    const out: string[] = [];
    for (const n of this.nodes.values()) {
      const p = n.plugins.get(plugin);
      if (p) out.push(`${p.version} on ${n.node}${p.ready ? "" : ` (${p.state})`}${n.refused ? " (refused: other protocol)" : ""}`);
    }
    return out;
  }

  /** Does any node want our log lines? */
  wantsLogs(): boolean {
    for (const n of this.nodes.values()) if (n.logs && !n.refused) return true;
    return false;
  }

  pluginNames(): string[] {
    const names = new Set<string>();
    for (const n of this.nodes.values()) for (const p of n.plugins.keys()) names.add(p);
    return [...names];
  }
}
