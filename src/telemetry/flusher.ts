/**
 * The flusher: on a timer, off the call path, it rotates the recorder's windows into per-minute
 * rollups, samples the plugins' processes, takes the waiting events, and writes all of it with
 * the node's heartbeat to the store in one transaction. A failed write is kept and retried on
 * the next tick (rollups are rewritten whole, events go back to the queue), so a store outage
 * loses nothing until the queue's bound. Every hour it prunes what is older than the retention.
 *
 * Rollup rows are keyed by (node, run, plugin, method, minute) and rewritten while their minute
 * is open, so a killed daemon loses at most what it recorded since its last flush.
 */
import type { Logger } from "../logs/index.js";
import type { Batch, InstanceStatRow, NodeRecord, RollupRow, Store } from "../store/index.js";
import { addDense, BUCKETS, toSparse } from "./histogram.js";
import type { EventQueue } from "./event-queue.js";
import type { CallRecorder, Window } from "./recorder.js";

export const MINUTE = 60_000;
const PRUNE_EVERY_MS = 3_600_000;
/** Open rollups older than this many minutes are given up if the store keeps failing. */
const KEEP_UNWRITTEN_MINUTES = 15;

/** One instance as the flusher samples it. */
export interface InstanceSample {
  plugin: string;
  instance: string;
  pid?: number;
  rssBytes: number;
  cpuPct: number;
  uptimeMs: number;
  restarts: number;
}

export interface FlusherDeps {
  store: Store;
  queue: EventQueue;
  /** Absent when telemetry.enabled is false: then only events and the heartbeat are written. */
  recorder?: CallRecorder;
  nodeId: string;
  runId: number;
  flushMs: number;
  retentionDays: number;
  /** The node's heartbeat row, built at each flush. */
  node(): NodeRecord;
  /** Current instances with their process figures; absent when telemetry is off. */
  instances?(): InstanceSample[];
  logger: Logger;
}

interface OpenRollup {
  row: RollupRow;
  hist: Float64Array;
  dirty: boolean;
}

export interface FlushStatus {
  flushes: number;
  lastFlushAt?: number;
  lastFlushMs?: number;
  lastError?: string;
  failures: number;
}

export class Flusher {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly rollups = new Map<string, OpenRollup>();
  private readonly instanceRows = new Map<string, { row: InstanceStatRow; dirty: boolean }>();
  private lastPrune = 0;
  readonly status: FlushStatus = { flushes: 0, failures: 0 };

  constructor(private readonly deps: FlusherDeps) {}

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.deps.flushMs);
    this.timer.unref();
  }

  /** Stops the timer and writes what is left. Resolves when the last write has settled. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** One flush; concurrent callers share the one in progress and then run their own. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    this.running = this.flushOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async flushOnce(): Promise<void> {
    const d = this.deps;
    const t0 = performance.now();
    const now = Date.now();
    const minute = Math.floor(now / MINUTE) * MINUTE;
    if (d.recorder) for (const { stats, window } of d.recorder.rotate(now)) this.addWindow(stats.plugin, stats.method, minute, window);
    if (d.instances) for (const s of d.instances()) this.addInstance(s, minute);
    const events = d.queue.drain();
    const batch: Batch = {
      node: d.node(),
      events,
      rollups: [...this.rollups.values()].filter((r) => r.dirty).map((r) => ({ ...r.row, histogram: toSparse(r.hist) })),
      instances: [...this.instanceRows.values()].filter((r) => r.dirty).map((r) => r.row),
    };
    const r = await d.store.write(batch);
    this.status.flushes++;
    this.status.lastFlushAt = now;
    this.status.lastFlushMs = performance.now() - t0;
    if (r.ok) {
      if (this.status.lastError) d.logger.info({ store: d.store.location }, "telemetry store writable again");
      this.status.lastError = undefined;
      for (const o of this.rollups.values()) o.dirty = false;
      for (const o of this.instanceRows.values()) o.dirty = false;
    } else {
      this.status.failures++;
      if (this.status.lastError !== r.error) d.logger.warn({ store: d.store.location }, `telemetry flush failed (kept for the next try): ${r.error}`);
      this.status.lastError = r.error;
      d.queue.requeue(events);
    }
    this.forget(minute);
    if (now - this.lastPrune >= PRUNE_EVERY_MS) await this.prune(now);
  }

  /** Deletes what is older than the retention (also at the first flush after start). */
  async prune(now = Date.now()): Promise<void> {
    this.lastPrune = now;
    const before = now - this.deps.retentionDays * 86_400_000;
    const r = await this.deps.store.prune(before);
    if (!r.ok) this.deps.logger.warn(`telemetry retention pruning failed: ${r.error}`);
    else if (r.value.events + r.value.rollups + r.value.instances + r.value.nodes > 0) {
      this.deps.logger.info({ ...r.value, before: new Date(before).toISOString() }, "pruned telemetry older than the retention");
    }
  }

  private addWindow(plugin: string, method: string, minute: number, w: Window): void {
    const key = `${plugin}\0${method}\0${minute}`;
    let o = this.rollups.get(key);
    if (!o) {
      const row: RollupRow = {
        nodeId: this.deps.nodeId,
        runId: this.deps.runId,
        minute,
        plugin,
        method,
        calls: 0,
        errors: 0,
        errorsByCode: {},
        durationSum: 0,
        durationMax: 0,
        queueWaitSum: 0,
        queueWaitMax: 0,
        histogram: {},
      };
      this.rollups.set(key, (o = { row, hist: new Float64Array(BUCKETS), dirty: true }));
    }
    const r = o.row;
    r.calls += w.calls;
    r.errors += w.errors;
    for (const [code, n] of w.errorsByCode) r.errorsByCode[code] = (r.errorsByCode[code] ?? 0) + n;
    r.durationSum += w.durationSum;
    r.durationMax = Math.max(r.durationMax, w.durationMax);
    r.queueWaitSum += w.queueWaitSum;
    r.queueWaitMax = Math.max(r.queueWaitMax, w.queueWaitMax);
    addDense(o.hist, w.hist);
    o.dirty = true;
  }

  private addInstance(s: InstanceSample, minute: number): void {
    const key = `${s.instance}\0${minute}`;
    const prev = this.instanceRows.get(key)?.row;
    const row: InstanceStatRow = {
      nodeId: this.deps.nodeId,
      runId: this.deps.runId,
      minute,
      plugin: s.plugin,
      instance: s.instance,
      pid: s.pid,
      rssBytes: s.rssBytes,
      rssMaxBytes: Math.max(s.rssBytes, prev?.rssMaxBytes ?? 0),
      cpuPct: s.cpuPct,
      uptimeMs: s.uptimeMs,
      restarts: s.restarts,
    };
    this.instanceRows.set(key, { row, dirty: true });
  }

  /** Drops what is written and closed (minutes before `current`), and what could not be written for too long. */
  private forget(current: number): void {
    const giveUp = current - KEEP_UNWRITTEN_MINUTES * MINUTE;
    for (const map of [this.rollups, this.instanceRows] as Map<string, { row: { minute: number }; dirty: boolean }>[]) {
      for (const [k, o] of map) if (o.row.minute < current && (!o.dirty || o.row.minute < giveUp)) map.delete(k);
    }
  }
}
