import { Component, DestroyRef, inject, signal } from "@angular/core";
import { RouterLink } from "@angular/router";
import { ApiService, messageOf } from "../core/api.service";
import { LiveService } from "../core/live.service";
import { addSample, chartsFromSeries, emptyCharts, type PluginCharts, type SeriesPoint } from "../core/series";
import { bytes, duration, ms, pct, rate, stateClass } from "../ui/format";
import { SparklineComponent } from "../ui/sparkline.component";

interface LivePlugin {
  name: string;
  state: string;
  reason?: string;
  version?: string;
  restarts: number;
  instances: { id: string; pid?: number }[];
  ratePerSec: number;
  p99?: number;
  errors: number;
  errorsPerSec: number;
  rssBytes?: number;
  cpuPct?: number;
}
interface Snapshot {
  version: string;
  nodeId: string;
  uptimeMs: number;
  rssBytes: number;
  cpuPct: number;
  plugins: LivePlugin[];
}

/** Every plugin at a glance (PM2's monit, Grafana's stat panels), live over the WebSocket. */
@Component({
  selector: "bkg-overview",
  imports: [RouterLink, SparklineComponent],
  template: `
    <h1 class="h1">Overview</h1>
    @if (error()) { <p class="error-box mb-4" role="alert">{{ error() }}</p> }
    @if (status(); as s) {
      <section class="card mb-6 grid grid-cols-2 gap-4 text-sm md:grid-cols-6" data-testid="daemon-summary" aria-label="The daemon">
        <div><div class="label">Version</div>{{ s.version }}</div>
        <div><div class="label">Uptime</div>{{ uptime() }}</div>
        <div><div class="label">Node.js</div>{{ s.nodeVersion }}</div>
        <div><div class="label">Node id</div><span class="break-all">{{ snap()?.nodeId ?? "–" }}</span></div>
        <div><div class="label">Daemon RSS</div>{{ bytes(snap()?.rssBytes ?? s.rssBytes) }}</div>
        <div><div class="label">Plugins</div>{{ s.plugins.total }}</div>
      </section>
    } @else if (!error()) {
      <p class="muted mb-6" aria-busy="true">Loading the daemon's status…</p>
    }
    @if (snap(); as sn) {
      @if (sn.plugins.length === 0) {
        <div class="card text-sm">No plugins yet. Put a manifest in the daemon's manifests folder (see docs/manifest.md); it appears here at once.</div>
      }
      <div class="grid gap-4 md:grid-cols-2 xl:grid-cols-3">
        @for (p of sn.plugins; track p.name) {
          <a class="card block hover:border-indigo-400 focus-visible:outline-2 focus-visible:outline-indigo-500" [routerLink]="['/plugins', p.name]" [attr.data-testid]="'plugin-card-' + p.name">
            <div class="mb-2 flex items-center justify-between">
              <h2 class="font-semibold">{{ p.name }} <span class="muted text-xs font-normal">{{ p.version }}</span></h2>
              <span class="badge {{ stateClass(p.state) }}" data-testid="state">{{ p.state }}</span>
            </div>
            @if (p.reason && p.state !== "ready") { <p class="mb-2 truncate text-xs text-red-700 dark:text-red-300" [title]="p.reason">{{ p.reason }}</p> }
            <dl class="mb-3 grid grid-cols-3 gap-2 text-xs">
              <div><dt class="muted">instances</dt><dd>{{ p.instances.length }}</dd></div>
              <div><dt class="muted">calls/s</dt><dd>{{ rate(p.ratePerSec) }}</dd></div>
              <div><dt class="muted">p99</dt><dd>{{ ms(p.p99) }}</dd></div>
              <div><dt class="muted">errors</dt><dd>{{ p.errors }}</dd></div>
              <div><dt class="muted">RSS</dt><dd>{{ bytes(p.rssBytes) }}</dd></div>
              <div><dt class="muted">CPU</dt><dd>{{ pct(p.cpuPct) }}</dd></div>
            </dl>
            <div class="grid grid-cols-3 gap-2">
              <bkg-sparkline label="calls/s" [points]="charts()[p.name]?.calls ?? []" [format]="rate" />
              <bkg-sparkline label="p99" [points]="charts()[p.name]?.p99 ?? []" [format]="ms" />
              <bkg-sparkline label="RSS" [points]="charts()[p.name]?.rss ?? []" [format]="bytes" />
            </div>
          </a>
        }
      </div>
    } @else if (!error()) {
      <p class="muted" aria-busy="true">Waiting for the live figures…</p>
    }
  `,
})
export class OverviewPage {
  private readonly api = inject(ApiService);
  private readonly live = inject(LiveService);
  readonly status = signal<any>(null);
  readonly snap = signal<Snapshot | null>(null);
  readonly charts = signal<Record<string, PluginCharts>>({});
  readonly error = signal<string | null>(null);
  readonly uptime = signal("");
  readonly bytes = bytes;
  readonly ms = ms;
  readonly rate = rate;
  readonly pct = pct;
  readonly stateClass = stateClass;

  constructor() {
    const destroy = inject(DestroyRef);
    this.load();
    const offTelemetry = this.live.watch("telemetry", undefined, (m) => this.onSnapshot(m.payload as Snapshot));
    // Lifecycle changes show at once, not at the next telemetry push.
    const offStatus = this.live.watch("status", undefined, (m) => {
      const e = m.payload as { plugin: string; state: string; reason?: string };
      const sn = this.snap();
      if (sn) this.snap.set({ ...sn, plugins: sn.plugins.map((p) => (p.name === e.plugin ? { ...p, state: e.state, reason: e.reason } : p)) });
    });
    const tick = setInterval(() => this.refreshUptime(), 1000);
    destroy.onDestroy(() => {
      offTelemetry();
      offStatus();
      clearInterval(tick);
    });
  }

  private async load(): Promise<void> {
    try {
      const [status, series] = await Promise.all([this.api.get<any>("/api/status"), this.api.get<{ plugins: { plugin: string; points: SeriesPoint[] }[] }>("/api/telemetry/series?since=15m")]);
      this.status.set({ ...status, loadedAt: Date.now() });
      this.refreshUptime();
      const charts: Record<string, PluginCharts> = {};
      for (const s of series.plugins) charts[s.plugin] = chartsFromSeries(s.points);
      this.charts.update((live) => ({ ...charts, ...mergeLive(charts, live) }));
    } catch (e) {
      this.error.set(`Could not load the daemon's status: ${messageOf(e)}`);
    }
  }

  private refreshUptime(): void {
    const s = this.status();
    if (s) this.uptime.set(duration(s.uptimeMs + Date.now() - s.loadedAt));
  }

  private onSnapshot(sn: Snapshot): void {
    this.snap.set(sn);
    const now = Date.now();
    this.charts.update((all) => {
      const next = { ...all };
      for (const p of sn.plugins) next[p.name] = addSample(next[p.name] ?? emptyCharts(), now, p);
      return next;
    });
  }
}

/** Live samples that arrived before the stored history: kept after it. */
function mergeLive(stored: Record<string, PluginCharts>, live: Record<string, PluginCharts>): Record<string, PluginCharts> {
  const out: Record<string, PluginCharts> = {};
  for (const [name, l] of Object.entries(live)) {
    const s = stored[name] ?? emptyCharts();
    out[name] = { calls: [...s.calls, ...l.calls], p99: [...s.p99, ...l.p99], rss: [...s.rss, ...l.rss] };
  }
  return out;
}
