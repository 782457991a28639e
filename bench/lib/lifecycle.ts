/**
 * Records a plugin's lifecycle events (daemon-side timestamps, epoch ms) over the socket, so a
 * scenario can split a measured interval into phases: noticed, new process ready, switched.
 */
import type { BkgClient, LifecycleEvent } from "bkg";

export interface LifecycleLog {
  events: LifecycleEvent[];
  /** The first event after `sinceMs` (epoch) matching state (and, if given, an instance event or not). */
  first(sinceMs: number, state: string, instance?: boolean): LifecycleEvent | undefined;
  stop(): Promise<void>;
}

export async function recordLifecycle(client: BkgClient, plugin: string): Promise<LifecycleLog> {
  const events: LifecycleEvent[] = [];
  const off = await client.subscribe({ topics: ["lifecycle"], plugin }, (e) => {
    if (e.kind === "lifecycle") events.push(e);
    if (events.length > 10_000) events.splice(0, 5_000);
  });
  return {
    events,
    first: (since, state, instance) => events.find((e) => e.ts >= since && e.state === state && (instance === undefined || Boolean(e.instance) === instance)),
    stop: () => off().catch(() => undefined),
  };
}

/** Phase lengths in ms between consecutive marks (NaN where a mark is missing). */
export function phases(marks: (number | undefined)[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < marks.length; i++) {
    const a = marks[i - 1];
    const b = marks[i];
    out.push(a === undefined || b === undefined ? NaN : b - a);
  }
  return out;
}
