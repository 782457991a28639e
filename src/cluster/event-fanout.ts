/**
 * Events across the cluster: this node's lifecycle, plugin and audit events are published on
 * NATS (and its plugins' log lines, while a client of another node reads logs), and other
 * nodes' arrive on our event bus marked with their `node`. So a key revoked on
 * node B (apikeys emits credential.revoked) clears node A's auth cache at once, and a WebSocket
 * or socket subscriber on any node sees every node's plugins change. Events carrying a `node`
 * are never published again (no loops); telemetry and log files skip them (their node keeps them).
 */
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import type { BusEvent, EventBus, Topic } from "../events/index.js";
import { CLUSTER_PROTOCOL, decodeObject, encode, foreignReason, subjects, type ClusterEvent } from "./wire.js";

const SHARED: readonly Topic[] = ["lifecycle", "plugin", "audit", "log"];

export class EventFanout {
  private off?: () => void;

  constructor(
    private readonly self: { node: string; run: string },
    private readonly bus: EventBus,
    private readonly connection: () => NatsConnection | undefined,
    private readonly foreign: (subject: string, reason: string) => void,
    /** Whether another node reads logs: log lines are sent only then. */
    private readonly logsWanted: () => boolean,
  ) {}

  start(): void {
    this.off ??= this.bus.subscribe({ topics: SHARED, internal: true }, (e) => {
      if (e.node !== undefined || (e.kind === "log" && !this.logsWanted())) return;
      const m: ClusterEvent = { v: CLUSTER_PROTOCOL, node: this.self.node, run: this.self.run, event: e as unknown as ClusterEvent["event"] };
      this.connection()?.publish(subjects.events, encode(m));
    });
  }

  onMessage(msg: Msg): void {
    const d = decodeObject(msg.data);
    const why = d.ok ? foreignReason("event", d.value) : d.reason;
    if (why !== undefined || !d.ok) return this.foreign(msg.subject, why ?? "unreadable");
    const m = d.value as unknown as ClusterEvent;
    if (m.node === this.self.node || m.v !== CLUSTER_PROTOCOL) return;
    const e = m.event;
    if (!SHARED.includes(e.kind as Topic) || typeof e.ts !== "number" || (e.plugin !== undefined && typeof e.plugin !== "string")) {
      return this.foreign(msg.subject, `an event of kind ${JSON.stringify(e.kind).slice(0, 40)} without its fields`);
    }
    this.bus.publish({ ...e, node: m.node } as unknown as BusEvent);
  }

  stop(): void {
    this.off?.();
    this.off = undefined;
  }
}
