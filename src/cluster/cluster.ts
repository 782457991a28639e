/**
 * Cluster mode: this daemon and the others that share its NATS bus act as one system. Every node
 * announces the plugins it serves; the router asks `route` where a call goes (local-first: here
 * when a local instance is ready; balanced: whichever node has the fewest calls in flight) and a
 * remote call keeps a local call's guarantees (remote-caller.ts, remote-server.ts); the calls and
 * replies of one event-loop turn for a node travel as one batch frame (batch-wire.ts). A node that
 * dies is noticed by a liveness probe (NATS answers "no responders" once its connection is gone)
 * and its in-flight calls fail with -33004 at once; calls that never reached it go elsewhere.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { BkgError, ErrorCodes, type CancelToken } from "@bkg/protocol";
import { errors, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import satisfies from "semver/functions/satisfies.js";
import type { RemoteCall, RemoteRoutes, RouteOptions, Router } from "../bus/index.js";
import type { ClusterSettings } from "../config/index.js";
import type { EventBus } from "../events/index.js";
import { ThrottledWarn } from "../gateway/throttled-warn.js";
import type { Logger } from "../logs/index.js";
import type { PluginHost, Supervisor } from "../supervisor/index.js";
import { BatchOutbox } from "./batch-outbox.js";
import { BATCH_FORMAT, frameReason, type BatchFrame } from "./batch-wire.js";
import { EventFanout } from "./event-fanout.js";
import { Membership, type RemoteNode } from "./membership.js";
import { NatsLink } from "./nats-link.js";
import { NotDelivered, RemoteCaller } from "./remote-caller.js";
import { RemoteServer } from "./remote-server.js";
import { SlotQueue } from "./slot-queue.js";
import { CLUSTER_PROTOCOL, decodeObject, encode, foreignReason, subjects, type Announce, type Bye } from "./wire.js";

export interface ClusterDeps {
  nodeId: string;
  version: string;
  router: Router;
  supervisor: Supervisor;
  bus: EventBus;
  logger: Logger;
}

/** How often nodes with our calls in flight are asked whether they are still there. */
const PROBE_MS = 150;
/** Calls that may wait for a per-node slot, as a multiple of maxInflightPerNode. */
const QUEUE_FACTOR = 16;
/** More announcing nodes than this are not kept (a flood of made-up node ids). */
const MAX_NODES = 1024;

export interface ClusterPluginRow {
  node: string;
  self: boolean;
  name: string;
  version?: string;
  state: string;
  ready: boolean;
}

export interface ClusterBusStatus {
  nodeId: string;
  run: string;
  routing: string;
  bus: { connected: boolean; servers: string[]; reason?: string; server?: string };
  nodes: { node: string; version: string; inflight: number; refused?: string; leaving?: boolean; lastSeen: number }[];
}

export class Cluster implements RemoteRoutes {
  readonly run = randomBytes(6).toString("hex");
  readonly membership: Membership;
  private readonly link: NatsLink;
  private readonly caller: RemoteCaller;
  private readonly server: RemoteServer;
  private readonly fanout: EventFanout;
  private callSub?: Subscription;
  private heartbeat?: NodeJS.Timeout;
  private prober?: NodeJS.Timeout;
  private readonly logInterest: NodeJS.Timeout;
  /** When the last ping to each node was sent. */
  private readonly probed = new Map<string, number>();
  private announcePending = false;
  /** What our last announcement said about wanting logs. */
  private wantedLogs = false;
  private leaving = false;
  private readonly foreignWarn: ThrottledWarn;
  private readonly duplicateWarn: ThrottledWarn;
  private readonly offLifecycle: () => void;
  /** Calls waiting for a per-node slot. */
  private readonly slots: SlotQueue;
  /** Batch frames being gathered for other nodes (absent with cluster.batch false). */
  private readonly outbox?: BatchOutbox;

  constructor(
    readonly settings: ClusterSettings,
    private readonly deps: ClusterDeps,
  ) {
    const self = { node: deps.nodeId, run: this.run };
    this.membership = new Membership(self, settings.maxInflightPerNode);
    this.foreignWarn = new ThrottledWarn(deps.logger);
    this.duplicateWarn = new ThrottledWarn(deps.logger);
    this.link = new NatsLink(settings, `bkg ${deps.nodeId}`, deps.logger, {
      connected: (nc) => this.joined(nc),
      disconnected: (why) => {
        this.caller.failAll(`the connection to NATS was lost (${why})`);
        for (const n of [...this.membership.nodes.keys()]) this.membership.remove(n);
      },
      reconnected: () => this.hello(),
    });
    this.slots = new SlotQueue(QUEUE_FACTOR * settings.maxInflightPerNode);
    // Batch frames (batch-wire.ts) unless turned off: then this node acts as one that predates them.
    const outbox = (this.outbox = settings.batch
      ? new BatchOutbox(
          self,
          () => this.link.connection(),
          `${subjects.replies(self.node, self.run)}.`,
          (seq, why) => this.caller.batchFailed(seq, why),
        )
      : undefined);
    this.caller = new RemoteCaller(self, this.link, () => this.slots.wakeOne(), outbox);
    this.server = new RemoteServer(
      self,
      () => this.link.connection(),
      deps.router,
      settings.maxInflightPerNode,
      (subject, reason) => this.foreign(subject, reason),
      outbox,
    );
    this.fanout = new EventFanout(
      self,
      deps.bus,
      () => this.link.connection(),
      (subject, reason) => this.foreign(subject, reason),
      () => this.membership.wantsLogs(),
    );
    this.offLifecycle = deps.bus.subscribe({ topics: ["lifecycle"], internal: true }, (e) => e.node === undefined && this.announceSoon());
    // A client starting or ending a log subscription changes what we ask of the others: say so soon.
    this.logInterest = setInterval(() => this.deps.bus.wants("log") !== this.wantedLogs && this.announceSoon(), 100);
    this.logInterest.unref();
  }

  get nodeId(): string {
    return this.deps.nodeId;
  }

  /** Connects (or keeps trying in the background). Rejects only when another daemon has our node id. */
  async start(): Promise<void> {
    await this.link.start();
  }

  status(): ClusterBusStatus {
    return {
      nodeId: this.deps.nodeId,
      run: this.run,
      routing: this.settings.routing,
      bus: this.link.status,
      nodes: [...this.membership.nodes.values()].map((n) => ({
        node: n.node,
        version: n.version,
        inflight: n.inflight,
        lastSeen: n.lastSeen,
        ...(n.refused ? { refused: n.refused } : {}),
        ...(n.leaving ? { leaving: true } : {}),
      })),
    };
  }

  /** Every node's plugins, this node's first. */
  plugins(): ClusterPluginRow[] {
    const rows: ClusterPluginRow[] = this.deps.supervisor.list().map((p) => ({ node: this.deps.nodeId, self: true, name: p.name, version: p.version, state: p.state, ready: p.state === "ready" }));
    for (const n of [...this.membership.nodes.values()].sort((a, b) => a.node.localeCompare(b.node))) {
      for (const p of n.plugins.values()) rows.push({ node: n.node, self: false, name: p.name, version: p.version, state: n.refused ? "refused" : p.state, ready: p.ready && !n.refused });
    }
    return rows;
  }

  route(plugin: string, local: PluginHost | undefined, range: string | undefined): RemoteCall | undefined {
    const localReady = local !== undefined && local.serving().length > 0 && (range === undefined || satisfies(local.manifest.version, range));
    const balanced = this.settings.routing === "balanced";
    if (localReady && !balanced) return undefined;
    if (!this.link.connection() || this.leaving) {
      if (local) return undefined;
      throw new BkgError(
        ErrorCodes.PluginUnavailable,
        `no plugin "${plugin}" runs on this node (${this.deps.nodeId}), and ${this.leaving ? "this node is leaving the cluster" : this.link.downReason()}`,
      );
    }
    const { nodes, full } = this.membership.candidates(plugin, range);
    if (!nodes.length) {
      if (local) return undefined; // starting or restarting here: the router waits for it
      if (full) return this.remoteCall(plugin, range, this.membership.anyServing(plugin, range)!);
      const versions = this.membership.versionsOf(plugin);
      if (versions.length) {
        throw new BkgError(ErrorCodes.PluginUnavailable, `no node can serve ${plugin}${range ? ` at a version in ${range}` : ""} now; it is on: ${versions.join(", ")}`);
      }
      const known = [...new Set([...this.deps.supervisor.hosts.keys(), ...this.membership.pluginNames()])].sort();
      throw new BkgError(ErrorCodes.MethodNotFound, `no plugin named "${plugin}" on any node of the cluster; plugins: ${known.join(", ") || "(none)"}`);
    }
    if (balanced && localReady) {
      const here = local.serving().reduce((n, i) => n + i.inflight, 0);
      if (here <= Math.min(...nodes.map((n) => n.inflight))) return undefined;
    }
    return this.remoteCall(plugin, range, nodes[0]);
  }

  private remoteCall(plugin: string, range: string | undefined, first: RemoteNode): RemoteCall {
    return {
      callTimeoutMs: first.plugins.get(plugin)!.callTimeoutMs,
      run: (target, params, deadline, cancel, opts) => this.forward(plugin, range, target, params, deadline, cancel, opts),
    };
  }

  /**
   * Sends a call to the least busy node that serves the plugin. When every such node has
   * maxInflightPerNode of our calls, the call waits for a slot (within its deadline; at most
   * QUEUE_FACTOR x maxInflightPerNode calls wait, beyond that -33002).
   */
  private async forward(plugin: string, range: string | undefined, target: string, params: Record<string, unknown>, deadline: number, cancel: CancelToken, opts: RouteOptions): Promise<unknown> {
    const tried = new Set<string>();
    for (;;) {
      const { nodes, full } = this.membership.candidates(plugin, range, tried);
      const node = this.membership.pick(nodes);
      if (!node) {
        if (full) {
          await this.slots.wait(
            cancel,
            () =>
              new BkgError(
                ErrorCodes.Overloaded,
                `every node serving ${plugin} already has ${this.settings.maxInflightPerNode} calls in flight from this node (cluster.maxInflightPerNode) and ${this.slots.size} more are waiting; try again later`,
              ),
          );
          continue;
        }
        if (tried.size) throw new BkgError(ErrorCodes.PluginUnavailable, `${target} could not be delivered: node ${[...tried].join(", ")} no longer takes calls and no other node serves ${plugin}`);
        throw new BkgError(
          ErrorCodes.PluginUnavailable,
          `no node can serve ${plugin}${range ? ` at a version in ${range}` : ""} now; it is on: ${this.membership.versionsOf(plugin).join(", ") || "no node"}`,
        );
      }
      try {
        return await this.caller.send(node, target, params, deadline, cancel, opts);
      } catch (e) {
        if (!(e instanceof NotDelivered)) throw e;
        // Nothing listened for calls on that node: it never got this one, so it may go elsewhere.
        // Whether its other calls are lost is the probe's to say (a node that is leaving still answers them).
        tried.add(node.node);
        node.leaving = true;
        this.probe(node);
      }
    }
  }

  private silentBefore(): number {
    return Date.now() - 3 * this.settings.heartbeatMs;
  }

  /** Connected: make sure our node id is ours, subscribe, say hello. */
  private async joined(nc: NatsConnection): Promise<void> {
    const me = this.deps.nodeId;
    try {
      const m = await nc.request(subjects.ping(me), encode({ v: CLUSTER_PROTOCOL, node: me, run: this.run }), { timeout: 1000 });
      const other = decodeObject(m.data);
      const o = other.ok ? (other.value as { hostname?: string; pid?: number }) : {};
      throw new Error(
        `node id "${me}" is already used by a running daemon (host ${o.hostname ?? "?"}, pid ${o.pid ?? "?"}); give each daemon its own storage.nodeId (BKG_NODE_ID) or <dataDir>/node-id`,
      );
    } catch (e) {
      if (!isNoResponders(e) && !(e instanceof errors.TimeoutError)) throw e;
    }
    const sub = (subject: string, fn: (m: Msg) => void) => nc.subscribe(subject, { callback: (err, m) => void (err || fn(m)) });
    sub(subjects.ping(me), (m) => m.respond(encode({ v: CLUSTER_PROTOCOL, node: me, run: this.run, hostname: hostname(), pid: process.pid })));
    this.callSub = sub(subjects.call(me), (m) => this.server.onCall(m));
    sub(subjects.cancel(me), (m) => this.server.onCancel(m));
    if (this.settings.batch) sub(subjects.batch(me), (m) => this.onBatch(m));
    sub(this.caller.replySubject, (m) => this.caller.onReply(m));
    sub(subjects.announce, (m) => this.onAnnounce(m));
    sub(subjects.discover, () => this.announceSoon());
    sub(subjects.bye, (m) => this.onBye(m));
    sub(subjects.events, (m) => this.fanout.onMessage(m));
    this.fanout.start();
    this.heartbeat = setInterval(() => this.beat(), this.settings.heartbeatMs);
    this.heartbeat.unref();
    this.prober = setInterval(() => this.probeAll(), PROBE_MS);
    this.prober.unref();
    this.hello();
  }

  private hello(): void {
    this.announce();
    this.link.connection()?.publish(subjects.discover, encode({ v: CLUSTER_PROTOCOL, node: this.deps.nodeId, run: this.run }));
  }

  private announceSoon(): void {
    if (this.announcePending) return;
    this.announcePending = true;
    setImmediate(() => {
      this.announcePending = false;
      this.announce();
    });
  }

  private announce(): void {
    const nc = this.link.connection();
    if (!nc || this.leaving) return;
    const a: Announce = {
      v: CLUSTER_PROTOCOL,
      node: this.deps.nodeId,
      run: this.run,
      version: this.deps.version,
      hostname: hostname(),
      pid: process.pid,
      plugins: [...this.deps.supervisor.hosts.values()].map((h) => ({
        name: h.name,
        version: h.manifest.version,
        ready: h.serving().length > 0,
        state: h.state,
        callTimeoutMs: h.manifest.timeouts.call,
      })),
      logs: (this.wantedLogs = this.deps.bus.wants("log")),
      ...(this.settings.batch ? { batch: BATCH_FORMAT } : {}),
    };
    nc.publish(subjects.announce, encode(a));
  }

  private beat(): void {
    this.announce();
    // A node silent for three heartbeats is asked whether it is there (its announcements may only
    // be queued behind other traffic): gone or not answering, it is dropped; answering, it stays.
    for (const n of this.membership.silentSince(this.silentBefore())) this.probe(n);
  }

  private onAnnounce(m: Msg): void {
    const d = decodeObject(m.data);
    const why = d.ok ? foreignReason("announce", d.value) : d.reason;
    if (why !== undefined || !d.ok) return this.foreign(m.subject, why ?? "unreadable");
    const a = d.value as unknown as Announce;
    if (!this.membership.nodes.has(a.node) && this.membership.nodes.size >= MAX_NODES) return this.foreign(m.subject, `more than ${MAX_NODES} nodes announce themselves`);
    const before = this.membership.nodes.get(a.node);
    const outcome = this.membership.announce(a);
    const log = this.deps.logger;
    if (outcome === "duplicate") {
      this.duplicateWarn.warn(
        { node: a.node, hostname: a.hostname, pid: a.pid },
        `another daemon (host ${a.hostname}, pid ${a.pid}) announces this node's id "${a.node}"; calls for the id may reach either: give each daemon its own storage.nodeId`,
      );
    } else if (outcome === "refused" && before?.refused === undefined) {
      log.warn({ node: a.node, protocol: a.v, version: a.version }, this.membership.nodes.get(a.node)!.refused!);
    } else if (outcome === "joined") {
      log.info({ node: a.node, version: a.version, plugins: a.plugins.map((p) => `${p.name}@${p.version}`) }, `node ${a.node} (bkg ${a.version}) joined the cluster`);
    } else if (outcome === "restarted" && before) {
      this.lost(a.node, "restarted", before);
      log.info({ node: a.node }, `node ${a.node} restarted`);
    }
  }

  /** A batch frame: its calls and cancellations are for our server, its replies for our caller. */
  private onBatch(m: Msg): void {
    const d = decodeObject(m.data);
    const why = d.ok ? frameReason(d.value) : d.reason;
    if (why !== undefined || !d.ok) return this.foreign(m.subject, why ?? "unreadable");
    const frame = d.value as unknown as BatchFrame;
    if (frame.calls || frame.cancels) this.server.onBatch(frame, m.subject);
    // Replies for an earlier run of this node are nobody's: their call ids may be taken again.
    if (frame.replies && frame.to === this.run) this.caller.onBatchReplies(frame.node, frame.replies);
  }

  private onBye(m: Msg): void {
    const d = decodeObject(m.data);
    const why = d.ok ? foreignReason("bye", d.value) : d.reason;
    if (why !== undefined || !d.ok) return this.foreign(m.subject, why ?? "unreadable");
    const b = d.value as unknown as Bye;
    const n = this.membership.nodes.get(b.node);
    if (!n || n.run !== b.run) return;
    // It drains the calls it has; it only gets no new ones. The probe notices when it is gone.
    n.leaving = true;
    this.server.dropNode(b.node);
    this.deps.logger.info({ node: b.node }, `node ${b.node} is leaving the cluster`);
  }

  private probeAll(): void {
    for (const n of this.membership.nodes.values()) if (n.inflight > 0 || n.leaving) this.probe(n);
  }

  /**
   * Asks a node whether it is there; "no responders" means its connection to NATS is gone. One
   * ping per node per PROBE_MS, whether or not earlier ones were answered: a ping the node took
   * just before it died is never answered, and must not hold back the next one.
   */
  private probe(n: RemoteNode): void {
    const nc = this.link.connection();
    const now = Date.now();
    if (!nc || now - (this.probed.get(n.node) ?? 0) < PROBE_MS / 2) return;
    this.probed.set(n.node, now);
    nc.request(subjects.ping(n.node), encode({ v: CLUSTER_PROTOCOL, node: this.deps.nodeId, run: this.run }), { timeout: Math.max(1000, 3 * this.settings.heartbeatMs) })
      .then((m) => {
        const d = decodeObject(m.data);
        const run = d.ok ? d.value.run : undefined;
        if (run !== n.run) this.lost(n.node, "restarted", n);
        else n.lastSeen = Math.max(n.lastSeen, Date.now());
      })
      .catch((e) => {
        if (isNoResponders(e)) this.lost(n.node, "is gone (its connection to NATS closed: the daemon exited or was killed)", n);
        else if (isTimeout(e) && n.lastSeen < this.silentBefore()) {
          this.lost(n.node, `is not answering (no announcement for over ${3 * this.settings.heartbeatMs} ms, and no answer to a ping)`, n);
        }
      })
      .finally(() => {
        if (!this.membership.nodes.has(n.node)) this.probed.delete(n.node);
      });
  }

  /** A node is gone (or restarted): its calls from us fail with -33004, its calls to us are cancelled. */
  private lost(node: string, why: string, which: RemoteNode): void {
    if (this.membership.nodes.get(node) === which) this.membership.remove(node);
    const failed = this.caller.failNode(node, why);
    this.server.dropNode(node);
    if (why !== "restarted" || failed) this.deps.logger.warn({ node, failedCalls: failed }, `node ${node} ${why}; ${failed} call(s) in flight there failed with -33004`);
  }

  private foreign(subject: string, reason: string): void {
    this.foreignWarn.warn({ subject, reason }, `ignored a message on ${subject} that is not bkg's (${reason}); is another application using the bkg.* subjects?`);
  }

  /** Leaving: no new calls come here (calls racing the goodbye are sent elsewhere); the ones in flight finish. */
  leave(): void {
    if (this.leaving) return;
    const nc = this.link.connection();
    this.announce();
    this.leaving = true;
    this.server.leaving = true;
    clearInterval(this.heartbeat);
    if (nc) {
      const bye: Bye = { v: CLUSTER_PROTOCOL, node: this.deps.nodeId, run: this.run };
      nc.publish(subjects.bye, encode(bye));
      this.callSub?.unsubscribe();
    }
  }

  /** After the plugins have stopped: closes the bus connection. */
  async close(): Promise<void> {
    this.leave();
    this.offLifecycle();
    clearInterval(this.logInterest);
    this.fanout.stop();
    clearInterval(this.prober);
    // Replies queued in this turn leave before the connection drains (a publish after would throw).
    this.outbox?.flush();
    await this.link.close();
  }
}

function isTimeout(e: unknown): boolean {
  return e instanceof errors.TimeoutError || (e as { cause?: unknown })?.cause instanceof errors.TimeoutError;
}

function isNoResponders(e: unknown): boolean {
  if (e instanceof errors.NoRespondersError) return true;
  const r = e as { isNoResponders?: () => boolean; cause?: unknown };
  return (typeof r?.isNoResponders === "function" && r.isNoResponders()) || r?.cause instanceof errors.NoRespondersError;
}
