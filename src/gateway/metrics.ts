/**
 * Prometheus metrics (prom-client, a registry of our own, not the global one), served at
 * GET /metrics. What is measured:
 *
 *   bkg_calls_total{plugin,method,outcome}      routed calls; outcome "ok" or the error's name
 *                                               (DeadlineExceeded, PluginError, ...; "other" for a plugin's own code)
 *   bkg_call_duration_seconds{plugin,method}    histogram, from reaching the router to the answer
 *   bkg_call_queue_wait_seconds{plugin}         histogram, time waiting for a concurrency slot
 *   bkg_plugin_calls_in_flight{plugin}          calls being served, plus queued
 *   bkg_plugin_restarts_total{plugin}           unexpected exits restarted
 *   bkg_plugin_state{plugin,state}              1 for the plugin's current state
 *   bkg_plugin_instances{plugin}                running instances
 *   bkg_plugin_resident_memory_bytes{plugin}    } from a UsageSource, when one is set
 *   bkg_plugin_cpu_seconds_total{plugin}        }   (the telemetry sampler plugs in here)
 *   bkg_http_requests_total{method,route,status}, bkg_http_request_duration_seconds{method,route}
 *   bkg_auth_checks_total{outcome}              root | cache | plugin | refused | unavailable
 *   bkg_rate_limited_total{by}                  credential | ip
 *   bkg_ws_connections                          open WebSocket sessions
 *   bkg_llm_tokens_total{key,model,kind}        tokens through the /v1 model routes; kind prompt | completion,
 *                                               key the credential's id (never the secret)
 *   bkg_trace_spans_total                       spans recorded (sampled calls; docs/tracing.md)
 *   bkg_trace_spans_exported_total              spans an OTLP collector accepted
 *   bkg_trace_spans_dropped_total               spans not exported: the export queue was full, or the
 *                                               collector refused, failed or did not answer in time
 *   bkg_build_info{version}, and the daemon's own process_* and nodejs_* metrics.
 *
 * Gateways only see the small `GatewayMetrics` interface; the call counters are fed by the
 * router's CallObserver hook, so socket, HTTP, WebSocket, gRPC and plugin-to-plugin calls all count.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { errorInfo, type BkgError } from "@bkg/protocol";
import type { CallObserver } from "../bus/index.js";
import type { Supervisor } from "../supervisor/index.js";
import type { AuthOutcome } from "../auth/index.js";

/** Per-plugin resource usage, from whoever samples processes. */
export interface PluginUsage {
  plugin: string;
  rssBytes: number;
  cpuSecondsTotal: number;
}
export type UsageSource = () => Iterable<PluginUsage>;

/** Span counts since the start, from the tracer and the OTLP exporter. */
export interface TraceCounts {
  recorded: number;
  exported: number;
  dropped: number;
}

/** What the gateways report; kept small so the collection can change behind it. */
export interface GatewayMetrics {
  http(method: string, route: string, status: number, seconds: number): void;
  auth(outcome: AuthOutcome): void;
  rateLimited(by: "credential" | "ip"): void;
  wsConnections(delta: number): void;
}

/** Totals of one plugin method, for the telemetry routes. */
export interface MethodTotals {
  plugin: string;
  method: string;
  calls: number;
  errors: number;
  byOutcome: Record<string, number>;
}

/** One plugin method's series, resolved once: a call's updates are then field increments. */
interface CallState {
  /** Made on the first success (a series appears only once it has counted something, as in prom-client). */
  ok?: CounterSeries;
  /** Error outcomes by wire code, made on first use. */
  failed: Map<number, CounterSeries>;
  plugin: string;
  method: string;
  duration: HistogramSeries;
  queue: HistogramSeries;
}

const CALL_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function outcomeOf(code: number): string {
  if (code === 0) return "ok";
  return errorInfo(code)?.name ?? "other";
}

/**
 * Counters and histograms on the call paths, cheaper than prom-client's: prom-client hashes and
 * validates the labels object on every update, which profiled at 2% of an HTTP request. Here a
 * caller resolves its series once (nested Maps of label values, then the series object itself),
 * and an update is a field increment. They plug into the same Registry (registerMetric, get())
 * and print exactly as prom-client's Counter and Histogram do.
 */
interface Series {
  labels: Record<string, string>;
}
interface CounterSeries extends Series {
  value: number;
}
interface HistogramSeries extends Series {
  counts: Float64Array;
  sum: number;
  count: number;
}

abstract class LiteMetric<S extends Series> {
  readonly aggregator = "sum";
  /** Label values -> series: one nested Map level per label. */
  private readonly root = new Map<string, unknown>();
  protected readonly all: S[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  protected abstract create(labels: Record<string, string>): S;

  /** The series for these label values (in labelNames order), made on first use. */
  series(...values: string[]): S {
    let m = this.root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = m.get(values[i]) as Map<string, unknown> | undefined;
      if (!next) m.set(values[i], (next = new Map()));
      m = next;
    }
    let s = m.get(values[last]) as S | undefined;
    if (!s) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i]));
      m.set(values[last], (s = this.create(labels)));
      this.all.push(s);
    }
    return s;
  }
}

class LiteCounter extends LiteMetric<CounterSeries> {
  readonly type = "counter";
  protected create(labels: Record<string, string>): CounterSeries {
    return { labels, value: 0 };
  }
  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.all.map((s) => ({ value: s.value, labels: { ...s.labels } })) };
  }
}

class LiteHistogram extends LiteMetric<HistogramSeries> {
  readonly type = "histogram";
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    super(name, help, labelNames, registry);
  }
  protected create(labels: Record<string, string>): HistogramSeries {
    return { labels, counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
  }
  static observe(s: HistogramSeries, buckets: readonly number[], v: number): void {
    s.sum += v;
    s.count++;
    for (let i = 0; i < buckets.length; i++) {
      if (v <= buckets[i]) {
        s.counts[i]++;
        return;
      }
    }
  }
  observe(s: HistogramSeries, v: number): void {
    LiteHistogram.observe(s, this.buckets, v);
  }
  async get() {
    const bucketName = `${this.name}_bucket`;
    const values: { value: number; labels: Record<string, string | number>; sharedLabels: Record<string, string>; metricName: string }[] = [];
    for (const s of this.all) {
      let acc = 0;
      this.buckets.forEach((le, i) => {
        acc += s.counts[i];
        values.push({ labels: { le }, sharedLabels: s.labels, value: acc, metricName: bucketName });
      });
      values.push({ labels: { le: "+Inf" }, sharedLabels: s.labels, value: s.count, metricName: bucketName });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

export class Metrics implements GatewayMetrics {
  readonly registry = new Registry();
  private usage?: UsageSource;
  private readonly callsTotal: LiteCounter;
  private readonly callDuration: LiteHistogram;
  private readonly queueWait: LiteHistogram;
  private readonly httpTotal: LiteCounter;
  private readonly httpDuration: LiteHistogram;
  /** plugin -> method -> its series. */
  private readonly callStates = new Map<string, Map<string, CallState>>();
  private readonly authTotal: Counter<"outcome">;
  private readonly limitedTotal: Counter<"by">;
  private readonly wsGauge: Gauge;
  private readonly tokensTotal: LiteCounter;

  /** Feeds the call counters; give it to the router (alone or through fanOut). */
  readonly calls: CallObserver<CallState>;

  /** Counts one /v1 answer's tokens against the credential and model that used them. */
  llmTokens(key: string, model: string, promptTokens: number, completionTokens: number): void {
    this.tokensTotal.series(key, model, "prompt").value += promptTokens;
    this.tokensTotal.series(key, model, "completion").value += completionTokens;
  }

  private traceCounts?: () => TraceCounts;

  /** Where the bkg_trace_spans_* counters read from. */
  setTraceSource(source: () => TraceCounts): void {
    this.traceCounts = source;
  }

  constructor(supervisor: Supervisor, version: string) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({ name: "bkg_build_info", help: "The daemon's version", labelNames: ["version"], registers }).set({ version }, 1);
    const reg = this.registry;
    this.callsTotal = new LiteCounter("bkg_calls_total", "Routed calls by plugin, method and outcome", ["plugin", "method", "outcome"], reg);
    this.callDuration = new LiteHistogram("bkg_call_duration_seconds", "Call latency, from reaching the router to the answer", ["plugin", "method"], CALL_BUCKETS, reg);
    this.queueWait = new LiteHistogram("bkg_call_queue_wait_seconds", "Time a call waited for a concurrency slot", ["plugin"], CALL_BUCKETS, reg);
    this.httpTotal = new LiteCounter("bkg_http_requests_total", "HTTP requests by method, route and status", ["method", "route", "status"], reg);
    this.httpDuration = new LiteHistogram("bkg_http_request_duration_seconds", "HTTP request latency", ["method", "route"], CALL_BUCKETS, reg);
    this.authTotal = new Counter({ name: "bkg_auth_checks_total", help: "Credential checks by outcome (cache: answered from the cache)", labelNames: ["outcome"], registers });
    this.limitedTotal = new Counter({ name: "bkg_rate_limited_total", help: "Requests refused by a rate limit", labelNames: ["by"], registers });
    this.wsGauge = new Gauge({ name: "bkg_ws_connections", help: "Open WebSocket sessions", registers });
    this.tokensTotal = new LiteCounter("bkg_llm_tokens_total", "Tokens through the /v1 model routes, by credential id, model and kind (prompt, completion)", ["key", "model", "kind"], reg);

    const plugins = () => supervisor.list();
    new Gauge({
      name: "bkg_plugin_calls_in_flight",
      help: "Calls being served by the plugin's instances, plus calls queued for a slot",
      labelNames: ["plugin"],
      registers,
      collect() {
        this.reset();
        for (const p of plugins()) this.set({ plugin: p.name }, p.instances.reduce((n, i) => n + i.inflight, 0) + p.queued);
      },
    });
    new Counter({
      name: "bkg_plugin_restarts_total",
      help: "Times the plugin was restarted after an unexpected exit",
      labelNames: ["plugin"],
      registers,
      collect() {
        this.reset();
        for (const p of plugins()) this.inc({ plugin: p.name }, p.restarts);
      },
    });
    new Gauge({
      name: "bkg_plugin_state",
      help: "1 for the plugin's current state",
      labelNames: ["plugin", "state"],
      registers,
      collect() {
        this.reset();
        for (const p of plugins()) this.set({ plugin: p.name, state: p.state }, 1);
      },
    });
    new Gauge({
      name: "bkg_plugin_instances",
      help: "Running instances of the plugin",
      labelNames: ["plugin"],
      registers,
      collect() {
        this.reset();
        for (const p of plugins()) this.set({ plugin: p.name }, p.instances.length);
      },
    });
    const usage = () => this.usage?.() ?? [];
    new Gauge({
      name: "bkg_plugin_resident_memory_bytes",
      help: "Resident memory of the plugin's processes",
      labelNames: ["plugin"],
      registers,
      collect() {
        this.reset();
        for (const u of usage()) this.set({ plugin: u.plugin }, u.rssBytes);
      },
    });
    new Counter({
      name: "bkg_plugin_cpu_seconds_total",
      help: "CPU time (user + system) used by the plugin's processes",
      labelNames: ["plugin"],
      registers,
      collect() {
        this.reset();
        for (const u of usage()) this.inc({ plugin: u.plugin }, u.cpuSecondsTotal);
      },
    });

    const traces = () => this.traceCounts?.() ?? { recorded: 0, exported: 0, dropped: 0 };
    const traceCounter = (name: string, help: string, field: keyof TraceCounts) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(traces()[field]);
        },
      });
    traceCounter("bkg_trace_spans_total", "Spans recorded (one per sampled routed call)", "recorded");
    traceCounter("bkg_trace_spans_exported_total", "Spans the OTLP collector accepted", "exported");
    traceCounter("bkg_trace_spans_dropped_total", "Spans not exported: the export queue was full, or the collector refused, failed or did not answer in time", "dropped");

    this.calls = {
      started: (plugin, method) => {
        let byMethod = this.callStates.get(plugin);
        if (!byMethod) this.callStates.set(plugin, (byMethod = new Map()));
        let s = byMethod.get(method);
        if (!s) {
          s = { plugin, method, failed: new Map(), duration: this.callDuration.series(plugin, method), queue: this.queueWait.series(plugin) };
          byMethod.set(method, s);
        }
        return s;
      },
      done: (s, code, durationMs, queueWaitMs) => {
        if (code === 0) (s.ok ??= this.callsTotal.series(s.plugin, s.method, "ok")).value++;
        else {
          let c = s.failed.get(code);
          if (!c) s.failed.set(code, (c = this.callsTotal.series(s.plugin, s.method, outcomeOf(code))));
          c.value++;
        }
        this.callDuration.observe(s.duration, durationMs / 1000);
        this.queueWait.observe(s.queue, queueWaitMs / 1000);
      },
    };
  }

  /** Where per-plugin RSS and CPU come from (the telemetry sampler); without one those series are empty. */
  setUsageSource(source: UsageSource): void {
    this.usage = source;
  }

  http(method: string, route: string, status: number, seconds: number): void {
    this.httpTotal.series(method, route, String(status)).value++;
    this.httpDuration.observe(this.httpDuration.series(method, route), seconds);
  }

  auth(outcome: AuthOutcome): void {
    this.authTotal.inc({ outcome });
  }

  rateLimited(by: "credential" | "ip"): void {
    this.limitedTotal.inc({ by });
  }

  wsConnections(delta: number): void {
    this.wsGauge.inc(delta);
  }

  /** The Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Call totals per method since the daemon started (optionally of one plugin). */
  async totals(plugin?: string): Promise<MethodTotals[]> {
    const byKey = new Map<string, MethodTotals>();
    for (const v of (await this.callsTotal.get()).values) {
      const l = v.labels as { plugin: string; method: string; outcome: string };
      if (plugin && l.plugin !== plugin) continue;
      const k = `${l.plugin}.${l.method}`;
      let t = byKey.get(k);
      if (!t) byKey.set(k, (t = { plugin: l.plugin, method: l.method, calls: 0, errors: 0, byOutcome: {} }));
      t.calls += v.value;
      if (l.outcome !== "ok") t.errors += v.value;
      t.byOutcome[l.outcome] = (t.byOutcome[l.outcome] ?? 0) + v.value;
    }
    return [...byKey.values()].sort((a, b) => a.plugin.localeCompare(b.plugin) || a.method.localeCompare(b.method));
  }
}

/** One CallObserver that feeds several (metrics and the telemetry recorder, say). */
// biome-ignore lint/suspicious/noExplicitAny: observers of any state type are fanned out together
export function fanOut(...observers: CallObserver<any>[]): CallObserver<unknown[]> {
  return {
    started: (plugin, method) => observers.map((o) => o.started(plugin, method)),
    done: (states, code, durationMs, queueWaitMs, error?: BkgError) => observers.forEach((o, i) => o.done(states[i], code, durationMs, queueWaitMs, error)),
  };
}
