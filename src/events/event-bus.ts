import type { BusEvent, Topic } from "./events.js";

export interface Subscription {
  topics?: readonly Topic[];
  plugin?: string;
  /** The daemon's own machinery (log files, telemetry, the cluster): not a reader that `wants` counts. */
  internal?: boolean;
}

type Listener = (e: BusEvent) => void;

/**
 * Fan-out of daemon events to subscribers (socket clients, loggers, tests). Synchronous and
 * cheap: a listener that throws is removed rather than allowed to break the publisher.
 */
export class EventBus {
  private listeners = new Set<{ sub: Subscription; fn: Listener }>();

  /** Returns the unsubscribe function. */
  subscribe(sub: Subscription, fn: Listener): () => void {
    const entry = { sub, fn };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  publish(e: BusEvent): void {
    for (const entry of this.listeners) {
      const { sub, fn } = entry;
      if (sub.topics && !sub.topics.includes(e.kind)) continue;
      if (sub.plugin && sub.plugin !== ("plugin" in e ? e.plugin : undefined)) continue;
      try {
        fn(e);
      } catch {
        this.listeners.delete(entry);
      }
    }
  }

  /** Whether a reader outside the daemon's machinery (a client, a WebSocket) wants this topic. */
  wants(topic: Topic): boolean {
    for (const { sub } of this.listeners) if (!sub.internal && (!sub.topics || sub.topics.includes(topic))) return true;
    return false;
  }

  get size(): number {
    return this.listeners.size;
  }
}
