import { Component, DestroyRef, computed, inject, signal } from "@angular/core";
import { RouterLink } from "@angular/router";
import { ApiError, ApiService, messageOf } from "../core/api.service";
import type { TraceSummary } from "../core/waterfall";
import { dateTime, ms } from "../ui/format";

/** How often the list refreshes itself while "Refresh every 5 s" is on. */
const REFRESH_MS = 5000;
const LIMIT = 100;

/**
 * The daemon's recent traces (GET /api/traces, its in-memory ring buffer): most recently active first, each
 * linking to its waterfall (/traces/:id). Refreshed on demand and, while the box is ticked and the
 * tab is visible, every 5 s.
 */
@Component({
  selector: "bkg-traces",
  imports: [RouterLink],
  template: `
    <h1 class="h1">Traces</h1>
    <section class="card" aria-label="Recent traces">
      <div class="mb-3 flex flex-wrap items-center gap-4 text-sm">
        <button class="btn btn-primary" type="button" (click)="load()" [disabled]="loading()" data-testid="traces-refresh">Refresh</button>
        <label class="flex items-center gap-1"><input type="checkbox" [checked]="auto()" (change)="auto.set($any($event.target).checked)" data-testid="traces-auto"> Refresh every 5 s</label>
        <label class="flex items-center gap-1"><input type="checkbox" [checked]="onlyErrors()" (change)="onlyErrors.set($any($event.target).checked)"> Only traces with an error</label>
        <div class="flex items-center gap-1"><label for="tr-text" class="muted">Root contains</label><input id="tr-text" class="input w-40" (input)="text.set($any($event.target).value)" placeholder="plugin.method"></div>
        <span class="muted ml-auto text-xs" aria-live="polite">@if (loadedAt()) { updated {{ clock(loadedAt()!) }} }</span>
      </div>
      @if (error()) { <p class="error-box mb-3" role="alert">{{ error() }}</p> }
      @if (traces() === null) {
        @if (!error()) { <p class="muted" aria-busy="true">Loading traces…</p> }
      } @else if (traces()!.length === 0) {
        <p class="muted text-sm" data-testid="traces-empty">No traces yet: calls made through the daemon appear here. Call a plugin (from its page, <code>bkg call</code>, or the HTTP API) and refresh. Only sampled calls are recorded (<code>telemetry.tracing.sampleRatio</code>, all of them by default).</p>
      } @else if (shown().length === 0) {
        <p class="muted text-sm">No recent trace matches. Clear the filters to see all {{ traces()!.length }}.</p>
      } @else {
        <div class="max-h-[36rem] overflow-auto">
          <table class="table" data-testid="traces-table">
            <caption class="sr-only">Recent traces, the most recently active first; open one to see its spans</caption>
            <thead class="sticky top-0 bg-white dark:bg-slate-900"><tr><th scope="col">root</th><th scope="col">started</th><th scope="col" class="text-right">duration</th><th scope="col" class="text-right">spans</th><th scope="col">outcome</th></tr></thead>
            <tbody>
              @for (tr of shown(); track tr.traceId) {
                <tr [attr.data-testid]="'trace-' + tr.traceId">
                  <td><a [routerLink]="['/traces', tr.traceId]" class="font-mono text-indigo-700 underline-offset-2 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-300" [attr.aria-label]="'Trace of ' + tr.root + ' started ' + dateTime(tr.startedAt)">{{ tr.root }}</a></td>
                  <td class="whitespace-nowrap">{{ dateTime(tr.startedAt) }}</td>
                  <td class="text-right tabular-nums">{{ ms(tr.durationMs) }}</td>
                  <td class="text-right tabular-nums">{{ tr.spanCount }}</td>
                  <td>@if (tr.error) { <span class="badge bg-red-100 text-red-800 dark:bg-red-900 dark:text-red-100">error</span> } @else { <span class="badge bg-emerald-100 text-emerald-800 dark:bg-emerald-900 dark:text-emerald-100">ok</span> }</td>
                </tr>
              }
            </tbody>
          </table>
        </div>
        <p class="muted mt-2 text-xs">The daemon keeps its most recent traces in memory; older ones are dropped. Open <code>/traces/&lt;trace id&gt;</code> to link to one.</p>
      }
    </section>
  `,
})
export class TracesPage {
  private readonly api = inject(ApiService);
  readonly traces = signal<TraceSummary[] | null>(null);
  readonly error = signal<string | null>(null);
  readonly loading = signal(false);
  readonly loadedAt = signal<number | null>(null);
  readonly auto = signal(true);
  readonly onlyErrors = signal(false);
  readonly text = signal("");
  readonly shown = computed(() => {
    const q = this.text().trim().toLowerCase();
    return (this.traces() ?? []).filter((t) => (!this.onlyErrors() || t.error) && (!q || t.root.toLowerCase().includes(q)));
  });
  readonly dateTime = dateTime;
  readonly ms = ms;
  readonly clock = (t: number): string => new Date(t).toLocaleTimeString();

  constructor() {
    void this.load();
    const timer = setInterval(() => {
      if (this.auto() && !this.loading() && document.visibilityState === "visible") void this.load();
    }, REFRESH_MS);
    inject(DestroyRef).onDestroy(() => clearInterval(timer));
  }

  async load(): Promise<void> {
    this.loading.set(true);
    try {
      const r = await this.api.get<{ traces: TraceSummary[] }>(`/api/traces?limit=${LIMIT}`);
      // The daemon's order: the most recently active first (a trace that just got a span moves up).
      this.traces.set(r.traces);
      this.loadedAt.set(Date.now());
      this.error.set(null);
    } catch (e) {
      this.error.set(e instanceof ApiError && e.status === 404 ? "This daemon records no traces (GET /api/traces answers 404): update bkg to a version with tracing." : `Could not load traces: ${messageOf(e)}`);
    } finally {
      this.loading.set(false);
    }
  }
}
