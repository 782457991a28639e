/**
 * Events waiting for the next flush: lifecycle, audit and plugin events from the event bus,
 * call errors from the recorder, and the daemon's own notes. Bounded: past `capacity` the
 * newest are dropped and counted, and the count becomes a `daemon` event of its own, so an
 * event storm costs memory up to the bound and never silently.
 */
import type { BusEvent, EventBus } from "../events/index.js";
import type { EventKind, EventQuery, StoredEvent } from "../store/index.js";

/** Largest `data` kept with a plugin event, as JSON; larger data is replaced by its size. */
const MAX_DATA_CHARS = 8192;

export class EventQueue {
  private queue: StoredEvent[] = [];
  private dropped = 0;

  constructor(
    private readonly nodeId: string,
    readonly capacity = 10_000,
  ) {}

  get size(): number {
    return this.queue.length;
  }

  /** Subscribes to the bus; returns the unsubscribe function. */
  attach(bus: EventBus): () => void {
    // Another node's events (e.node) are stored by that node.
    return bus.subscribe({ topics: ["lifecycle", "plugin", "audit"], internal: true }, (e) => e.node === undefined && this.fromBus(e));
  }

  push(e: Omit<StoredEvent, "nodeId"> & { nodeId?: string }): void {
    if (this.queue.length >= this.capacity) {
      this.dropped++;
      return;
    }
    this.queue.push({ ...e, nodeId: e.nodeId ?? this.nodeId });
  }

  note(name: string, message: string, data?: unknown): void {
    this.push({ ts: Date.now(), kind: "daemon", name, message, data });
  }

  /** Takes every waiting event (oldest first), with a note about any that were dropped. */
  drain(): StoredEvent[] {
    const out = this.queue;
    this.queue = [];
    if (this.dropped) {
      out.push({ nodeId: this.nodeId, ts: Date.now(), kind: "daemon", name: "events-dropped", message: `${this.dropped} events were dropped: more than ${this.capacity} arrived between two flushes` });
      this.dropped = 0;
    }
    return out;
  }

  /** Puts back events a failed flush could not write, ahead of newer ones, within the bound. */
  requeue(events: StoredEvent[]): void {
    const room = this.capacity - this.queue.length;
    const keep = room >= events.length ? events : events.slice(events.length - Math.max(0, room));
    this.dropped += events.length - keep.length;
    this.queue = [...keep, ...this.queue];
  }

  /** The waiting events that match a query (the store has not seen them yet). */
  matching(q: EventQuery): StoredEvent[] {
    return this.queue.filter(
      (e) =>
        (q.since === undefined || e.ts >= q.since) &&
        (q.until === undefined || e.ts < q.until) &&
        (!q.plugin || e.plugin === q.plugin) &&
        (!q.nodeId || e.nodeId === q.nodeId) &&
        (!q.kinds?.length || q.kinds.includes(e.kind)),
    );
  }

  private fromBus(e: BusEvent): void {
    if (e.kind === "lifecycle") {
      this.push({ ts: e.ts, kind: "lifecycle", plugin: e.plugin, instance: e.instance, name: e.state, message: e.reason });
    } else if (e.kind === "plugin") {
      this.push({ ts: e.ts, kind: "plugin", plugin: e.plugin, name: e.event, data: boundData(e.data) });
    } else if (e.kind === "audit") {
      this.push({ ts: e.ts, kind: "audit" as EventKind, plugin: e.plugin, name: e.action, message: `${e.action} by ${e.actor}${e.plugin ? ` on ${e.plugin}` : ""}`, data: e.detail });
    }
  }
}

function boundData(data: unknown): unknown {
  if (data === undefined) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch {
    return { unserializable: true };
  }
  if (text === undefined) return undefined;
  return text.length > MAX_DATA_CHARS ? { truncated: true, chars: text.length } : data;
}
