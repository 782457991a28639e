import { JsonPipe } from "@angular/common";
import { Component, DestroyRef, effect, inject, input, signal, untracked } from "@angular/core";
import { RouterLink } from "@angular/router";
import { ApiService, messageOf } from "../core/api.service";
import { AuthService } from "../core/auth.service";
import { LiveService } from "../core/live.service";
import { addSample, chartsFromSeries, emptyCharts, type PluginCharts, type SeriesPoint } from "../core/series";
import { ConfirmComponent } from "../ui/confirm.component";
import { bytes, duration, ms, pct, rate, stateClass } from "../ui/format";
import { LogViewComponent } from "../ui/log-view.component";
import { MethodRunnerComponent } from "../ui/method-runner.component";
import { PluginProblemsComponent } from "../ui/plugin-problems.component";
import { SparklineComponent } from "../ui/sparkline.component";

type Verb = "start" | "stop" | "reload" | "restart";
const VERB_TEXT: Record<Verb, { title: string; message: string; danger: boolean }> = {
  stop: { title: "Stop", message: "Its instances are stopped; calls to it fail with 503 until it is started again.", danger: true },
  start: { title: "Start", message: "Starts the plugin's instances.", danger: false },
  restart: { title: "Restart", message: "Stops its instances and starts new ones; unlike Reload, the plugin is unavailable in between.", danger: true },
  reload: { title: "Reload", message: "Starts a new instance beside the old one and switches calls to it when it is ready (a hot swap); no call is lost.", danger: false },
};

/** One plugin (/plugins/:name): state, controls, instances, methods, live logs, charts, manifest, last crash. */
@Component({
  selector: "bkg-plugin",
  imports: [RouterLink, JsonPipe, ConfirmComponent, LogViewComponent, MethodRunnerComponent, PluginProblemsComponent, SparklineComponent],
  template: `
    <nav class="muted mb-2 text-sm"><a routerLink="/" class="hover:underline">Overview</a> / {{ name() }}</nav>
    @if (notFound()) {
      <div class="card"><h1 class="h1">No plugin named "{{ name() }}"</h1><p class="text-sm">It may have been removed from the manifests folder. <a routerLink="/" class="text-indigo-600 underline">Back to the overview</a>.</p></div>
    } @else if (info(); as p) {
      <div class="mb-4 flex flex-wrap items-center gap-3">
        <h1 class="text-xl font-semibold">{{ p.name }} <span class="muted text-sm font-normal">{{ p.version }}</span></h1>
        <span class="badge {{ stateClass(p.state) }}" data-testid="plugin-state">{{ p.state }}</span>
        @if (p.reason) { <span class="muted text-sm" data-testid="plugin-reason">{{ p.reason }}</span> }
        <div class="ml-auto flex gap-2">
          @if (auth.can("operator")) {
            @for (v of verbs; track v) {
              <button class="btn" [class.btn-danger]="v === 'stop' || v === 'restart'" type="button" [disabled]="busy()" (click)="ask(v)" [attr.data-testid]="'control-' + v">{{ verbText[v].title }}</button>
            }
          } @else { <span class="muted text-xs">Controls need the operator role.</span> }
        </div>
      </div>
      @if (actionError()) { <p class="error-box mb-4" role="alert">{{ actionError() }}</p> }
      <bkg-plugin-problems [plugin]="p" />
      @if (p.description) { <p class="muted mb-4 text-sm">{{ p.description }}</p> }

      <section class="card mb-4" aria-label="Instances">
        <h2 class="h2">Instances</h2>
        <table class="table">
          <thead><tr><th>id</th><th>pid</th><th>state</th><th>in flight</th><th>uptime</th><th>RSS</th><th>CPU</th></tr></thead>
          <tbody>
            @for (i of p.instances; track i.id) {
              <tr><td class="font-mono">{{ i.id }}</td><td>{{ i.pid ?? "–" }}</td><td>{{ i.state }}</td><td>{{ i.inflight }}</td><td>{{ dur(i.uptimeMs) }}</td><td>{{ bytes(i.rssBytes) }}</td><td>{{ pct(i.cpu ?? i.cpuPct) }}</td></tr>
            } @empty { <tr><td colspan="7" class="muted">No instance is running{{ p.state === "stopped" ? ": start the plugin to run one" : "" }}.</td></tr> }
          </tbody>
        </table>
        <p class="muted mt-2 text-xs">restarts: {{ p.restarts }} · queued: {{ p.queued }} · activation: {{ p.activation }}</p>
      </section>

      <section class="card mb-4 grid grid-cols-1 gap-4 md:grid-cols-3" aria-label="Charts">
        <bkg-sparkline label="calls/s (15 min)" [points]="charts().calls" [format]="rate" />
        <bkg-sparkline label="p99 (15 min)" [points]="charts().p99" [format]="ms" />
        <bkg-sparkline label="RSS (15 min)" [points]="charts().rss" [format]="bytes" />
      </section>

      <section class="card mb-4" aria-label="Methods">
        <h2 class="h2">Methods</h2>
        <bkg-method-runner [plugin]="p.name" [methods]="p.methods ?? []" [canCall]="auth.can('operator')" />
      </section>

      <section class="card mb-4" aria-label="Live logs">
        <h2 class="h2">Live logs</h2>
        <bkg-log-view [plugin]="p.name" />
      </section>

      <section class="card mb-4" aria-label="Last crash">
        <h2 class="h2">Last crash report</h2>
        @if (p.lastExit) { <pre class="overflow-auto rounded bg-red-50 p-2 text-xs dark:bg-red-950" data-testid="last-crash">{{ p.lastExit | json }}</pre> }
        @else { <p class="muted text-sm">No crash since the daemon started.</p> }
      </section>

      <section class="card" aria-label="Manifest">
        <h2 class="h2">Manifest and config <span class="muted text-xs font-normal">(read-only; secrets redacted; edit {{ p.file }})</span></h2>
        <pre class="max-h-96 overflow-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800" data-testid="manifest">{{ p.manifest | json }}</pre>
      </section>

      <bkg-confirm [open]="pending() !== null" [title]="pending() ? verbText[pending()!].title + ' ' + p.name + '?' : ''" [message]="pending() ? verbText[pending()!].message : ''"
        [confirmLabel]="pending() ? verbText[pending()!].title : ''" [danger]="pending() === 'stop' || pending() === 'restart'" (confirmed)="control()" (cancelled)="pending.set(null)" />
    } @else if (loadError()) {
      <p class="error-box" role="alert">{{ loadError() }}</p>
    } @else {
      <p class="muted" aria-busy="true">Loading {{ name() }}…</p>
    }
  `,
})
export class PluginPage {
  private readonly api = inject(ApiService);
  private readonly live = inject(LiveService);
  readonly auth = inject(AuthService);
  readonly name = input.required<string>();
  readonly info = signal<any>(null);
  readonly notFound = signal(false);
  readonly loadError = signal<string | null>(null);
  readonly actionError = signal<string | null>(null);
  readonly busy = signal(false);
  readonly pending = signal<Verb | null>(null);
  readonly charts = signal<PluginCharts>(emptyCharts());
  readonly verbs: Verb[] = ["start", "stop", "restart", "reload"];
  readonly verbText = VERB_TEXT;
  readonly stateClass = stateClass;
  readonly bytes = bytes;
  readonly ms = ms;
  readonly rate = rate;
  readonly pct = pct;
  readonly dur = duration;
  private reloadTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    inject(DestroyRef).onDestroy(() => clearTimeout(this.reloadTimer));
    effect((onCleanup) => {
      const name = this.name();
      // Everything below runs once per plugin name: the signals it reads must not re-run it.
      untracked(() => this.follow(name, onCleanup));
    });
  }

  private follow(name: string, onCleanup: (f: () => void) => void): void {
    this.info.set(null);
    this.notFound.set(false);
    this.charts.set(emptyCharts());
    void this.load(name);
    void this.loadSeries(name);
    const offStatus = this.live.watch("status", name, (m) => {
      const e = m.payload as { state: string; reason?: string; instance?: string };
      if (!e.instance) this.info.update((i) => (i ? { ...i, state: e.state, reason: e.reason } : i));
      this.scheduleReload(name);
    });
    const offTelemetry = this.live.watch("telemetry", name, (m) => {
      const t = m.payload;
      this.charts.update((c) => addSample(c, Date.now(), t));
      this.info.update((i) => (i ? { ...i, instances: mergeInstances(i.instances, t.instances) } : i));
    });
    onCleanup(() => {
      offStatus();
      offTelemetry();
    });
  }

  ask(v: Verb): void {
    this.actionError.set(null);
    this.pending.set(v);
  }

  async control(): Promise<void> {
    const v = this.pending();
    this.pending.set(null);
    if (!v) return;
    this.busy.set(true);
    try {
      await this.api.post(`/api/plugins/${encodeURIComponent(this.name())}/${v}`);
      await this.load(this.name());
    } catch (e) {
      this.actionError.set(`${VERB_TEXT[v].title} failed: ${messageOf(e)}`);
    } finally {
      this.busy.set(false);
    }
  }

  /** Lifecycle events come in bursts (instance and plugin); one reload of the details after them. */
  private scheduleReload(name: string): void {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => void this.load(name), 300);
  }

  private async load(name: string): Promise<void> {
    try {
      this.info.set(await this.api.get(`/api/plugins/${encodeURIComponent(name)}`));
      this.loadError.set(null);
    } catch (e) {
      if ((e as { status?: number }).status === 404) this.notFound.set(true);
      else this.loadError.set(`Could not load ${name}: ${messageOf(e)}`);
    }
  }

  private async loadSeries(name: string): Promise<void> {
    try {
      const s = await this.api.get<{ plugins: { plugin: string; points: SeriesPoint[] }[] }>(`/api/telemetry/series?plugin=${encodeURIComponent(name)}&since=15m`);
      const stored = chartsFromSeries(s.plugins[0]?.points ?? []);
      this.charts.update((live) => ({ calls: [...stored.calls, ...live.calls], p99: [...stored.p99, ...live.p99], rss: [...stored.rss, ...live.rss] }));
    } catch {
      /* the charts stay live-only; the page says nothing is stored yet */
    }
  }
}

/** Live RSS/CPU of instances from telemetry onto the detailed rows. */
function mergeInstances(rows: any[], live: { id: string; rssBytes?: number; cpuPct?: number; inflight: number; uptimeMs: number }[] | undefined): any[] {
  if (!live) return rows;
  return rows.map((r) => {
    const l = live.find((x) => x.id === r.id);
    return l ? { ...r, rssBytes: l.rssBytes ?? r.rssBytes, cpuPct: l.cpuPct, inflight: l.inflight, uptimeMs: l.uptimeMs } : r;
  });
}
