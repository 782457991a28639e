/**
 * Telemetry, assembled: the store (opened and migrated), the call recorder the router reports
 * to, the event queue fed by the event bus, the process sampler and the flusher. The daemon
 * builds it before the router (which takes `recorder`), starts it once the supervisor exists
 * and stops it last. Queries for the control methods (events, stats, live view, cluster nodes)
 * are here too.
 *
 * With telemetry.enabled false there is no recorder (the router records nothing) and no
 * process sampling; events and the node heartbeat are still kept.
 */
import { TokenUsage } from "./token-usage.js";
import { hostname } from "node:os";
import type { EventBus } from "../events/index.js";
import type { Logger } from "../logs/index.js";
import { eventLimit, fail, ok, openStore, type EventQuery, type NodeRecord, type Result, type RollupQuery, type Store, type StoredEvent } from "../store/index.js";
import type { PluginSummary } from "../supervisor/index.js";
import { EventQueue } from "./event-queue.js";
import { Flusher, type InstanceSample } from "./flusher.js";
import { livePlugins, type LiveSnapshot } from "./live-view.js";
import { resolveNodeId } from "./node-id.js";
import { ProcessStats, SelfStats } from "./process-stats.js";
import { CallRecorder } from "./recorder.js";
import { buildSeries, type PluginSeries } from "./series.js";
import { summarizeInstances, summarizeRollups, type InstanceSummaryRow, type MethodSummary } from "./stats-summary.js";

export interface TelemetrySettings {
  storage: { url?: string; nodeId?: string };
  telemetry: { enabled: boolean; flushMs: number; retentionDays: number };
  dataDir: string;
}

export interface TelemetryDeps {
  bus: EventBus;
  logger: Logger;
  version: string;
  /** The daemon's start time; also this run's id in the rollup keys. */
  startedAt: number;
}

/** What telemetry needs from the supervisor. */
export interface PluginLister {
  list(): PluginSummary[];
}

export interface ClusterNode extends NodeRecord {
  /** This daemon. */
  self: boolean;
  /** Not heard from in three flush intervals although not stopped: killed, hung or cut off. */
  stale: boolean;
}

export interface StatsReport {
  since: number;
  until: number;
  methods: MethodSummary[];
  instances: InstanceSummaryRow[];
}

export class Telemetry {
  readonly nodeId: string;
  readonly runId: number;
  /** The router's recorder; absent when telemetry is off. */
  readonly recorder?: CallRecorder;
  readonly queue: EventQueue;
  /** Tokens used through the model routes, per credential and model (live only, since start). */
  readonly tokens = new TokenUsage();
  private readonly procs = new ProcessStats();
  private readonly self = new SelfStats();
  private flusher?: Flusher;
  private plugins?: PluginLister;
  private detach?: () => void;
  private state: "running" | "stopped" = "running";

  private constructor(
    readonly store: Store,
    private readonly settings: TelemetrySettings,
    private readonly deps: TelemetryDeps,
  ) {
    this.nodeId = resolveNodeId(settings.storage.nodeId, settings.dataDir);
    this.runId = deps.startedAt;
    this.queue = new EventQueue(this.nodeId);
    if (settings.telemetry.enabled) {
      this.recorder = new CallRecorder((plugin, method, code, message) => this.queue.push({ ts: Date.now(), kind: "call-error", plugin, name: method, code, message }));
    }
  }

  /** Opens and migrates the store. An error (unreachable database, newer schema) means: do not start. */
  static async open(settings: TelemetrySettings, deps: TelemetryDeps): Promise<Result<Telemetry>> {
    const s = await openStore(settings.storage.url, settings.dataDir);
    if (!s.ok) return s;
    const m = await s.value.migrate();
    if (!m.ok) {
      await s.value.close();
      return m;
    }
    if (m.value.applied.length) deps.logger.info({ store: s.value.location, applied: m.value.applied }, `store migrated to schema version ${m.value.to}`);
    try {
      return ok(new Telemetry(s.value, settings, deps));
    } catch (e) {
      await s.value.close();
      return fail(`cannot set up telemetry: ${(e as Error).message}`);
    }
  }

  /** Starts capturing events and the flush timer (the first flush prunes). */
  start(plugins: PluginLister): void {
    this.plugins = plugins;
    this.detach = this.queue.attach(this.deps.bus);
    this.queue.note("started", `bkg ${this.deps.version} started (pid ${process.pid}, node ${this.nodeId})`);
    const t = this.settings.telemetry;
    this.flusher = new Flusher({
      store: this.store,
      queue: this.queue,
      recorder: this.recorder,
      nodeId: this.nodeId,
      runId: this.runId,
      flushMs: t.flushMs,
      retentionDays: t.retentionDays,
      node: () => this.nodeRecord(),
      instances: t.enabled ? () => this.instanceSamples() : undefined,
      logger: this.deps.logger,
    });
    this.flusher.start();
  }

  /** Notes why the daemon stops, writes the last batch (node marked stopped) and closes the store. */
  async stop(reason: string): Promise<void> {
    this.detach?.();
    this.detach = undefined;
    if (this.flusher) {
      this.queue.note("stopping", `daemon stopping: ${reason}`);
      this.state = "stopped";
      await this.flusher.stop();
    }
    await this.store.close();
  }

  /** Writes what is waiting now (queries call it so they see the latest). */
  async flush(): Promise<void> {
    await this.flusher?.flush();
  }

  private nodeRecord(): NodeRecord {
    return {
      nodeId: this.nodeId,
      hostname: hostname(),
      pid: process.pid,
      version: this.deps.version,
      startedAt: this.deps.startedAt,
      lastSeen: Date.now(),
      state: this.state,
      plugins: (this.plugins?.list() ?? []).map((p) => ({ name: p.name, state: p.state, version: p.version, instances: p.instances.length })),
    };
  }

  private instanceSamples(): InstanceSample[] {
    const list = this.plugins?.list() ?? [];
    const usage = this.procs.sample(list.flatMap((p) => p.instances.flatMap((i) => (i.pid ? [i.pid] : []))));
    return list.flatMap((p) =>
      p.instances.map((i) => {
        const u = i.pid ? usage.get(i.pid) : undefined;
        return { plugin: p.name, instance: i.id, pid: i.pid, rssBytes: u?.rssBytes ?? 0, cpuPct: u?.cpuPct ?? 0, uptimeMs: i.uptimeMs, restarts: p.restarts };
      }),
    );
  }

  live(): LiveSnapshot {
    const now = Date.now();
    const list = this.plugins?.list() ?? [];
    const enabled = this.settings.telemetry.enabled;
    const usage = enabled
      ? this.procs.sample(
          list.flatMap((p) => p.instances.flatMap((i) => (i.pid ? [i.pid] : []))),
          now,
        )
      : new Map();
    const { windowMs, plugins } = livePlugins(list, this.recorder, usage, now);
    const me = this.self.sample(now);
    const st = this.flusher?.status;
    return {
      ts: now,
      nodeId: this.nodeId,
      version: this.deps.version,
      pid: process.pid,
      uptimeMs: now - this.deps.startedAt,
      rssBytes: me.rssBytes,
      cpuPct: me.cpuPct,
      windowMs,
      telemetry: {
        enabled,
        driver: this.store.driver,
        location: this.store.location,
        flushMs: this.settings.telemetry.flushMs,
        retentionDays: this.settings.telemetry.retentionDays,
        lastFlushAt: st?.lastFlushAt,
        lastFlushMs: st?.lastFlushMs,
        lastError: st?.lastError,
        queuedEvents: this.queue.size,
      },
      plugins,
      tokens: this.tokens.list(),
    };
  }

  /**
   * The control surface's TelemetrySource (src/gateway/telemetry-source.ts): the live view of
   * one plugin, or of all.
   */
  readonly source = {
    plugin: async (name: string) => this.live().plugins.find((p) => p.name === name),
    all: async () => this.live(),
  };

  /** RSS and CPU seconds per plugin (all its instances' process groups), for Prometheus gauges. */
  usage(): { plugin: string; rssBytes: number; cpuSecondsTotal: number }[] {
    const list = this.plugins?.list() ?? [];
    const usage = this.procs.sample(list.flatMap((p) => p.instances.flatMap((i) => (i.pid ? [i.pid] : []))));
    return list.map((p) => {
      const us = p.instances.flatMap((i) => (i.pid && usage.has(i.pid) ? [usage.get(i.pid)!] : []));
      return { plugin: p.name, rssBytes: us.reduce((n, u) => n + u.rssBytes, 0), cpuSecondsTotal: us.reduce((n, u) => n + u.cpuSeconds, 0) };
    });
  }

  /** Stored events plus those still waiting for a flush, oldest first. */
  async events(q: EventQuery): Promise<Result<StoredEvent[]>> {
    await this.flush();
    const stored = await this.store.events(q);
    const waiting = this.queue.matching(q);
    if (!stored.ok) return waiting.length ? ok(waiting) : stored;
    if (!waiting.length) return stored;
    const all = [...stored.value, ...waiting].sort((a, b) => a.ts - b.ts);
    return ok(all.slice(Math.max(0, all.length - eventLimit(q.limit))));
  }

  /** Per-method and per-instance summaries from the stored rollups in [since, until). */
  async stats(q: RollupQuery & { since: number }): Promise<Result<StatsReport>> {
    await this.flush();
    const [rollups, instances] = await Promise.all([this.store.rollups(q), this.store.instanceStats(q)]);
    if (!rollups.ok) return rollups;
    if (!instances.ok) return instances;
    return ok({ since: q.since, until: q.until ?? Date.now(), methods: summarizeRollups(rollups.value), instances: summarizeInstances(instances.value) });
  }

  /** Per-minute series of each plugin (calls/s, errors, p99, RSS, CPU) from the stored rollups in [since, until). */
  async series(q: RollupQuery & { since: number }): Promise<Result<{ since: number; until: number; plugins: PluginSeries[] }>> {
    await this.flush();
    const [rollups, instances] = await Promise.all([this.store.rollups(q), this.store.instanceStats(q)]);
    if (!rollups.ok) return rollups;
    if (!instances.ok) return instances;
    return ok({ since: q.since, until: q.until ?? Date.now(), plugins: buildSeries(rollups.value, instances.value) });
  }

  /** Every daemon writing to this store, this one first with its current figures. */
  async nodes(): Promise<Result<ClusterNode[]>> {
    const r = await this.store.nodes();
    if (!r.ok) return r;
    const now = Date.now();
    const staleAfter = 3 * this.settings.telemetry.flushMs;
    const others = r.value.filter((n) => n.nodeId !== this.nodeId).map((n) => ({ ...n, self: false, stale: n.state === "running" && now - n.lastSeen > staleAfter }));
    return ok([{ ...this.nodeRecord(), self: true, stale: false }, ...others]);
  }
}
