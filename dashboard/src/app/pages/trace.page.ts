import { Component, computed, effect, inject, input, signal, untracked } from "@angular/core";
import { Router, RouterLink } from "@angular/router";
import { ApiError, ApiService, messageOf } from "../core/api.service";
import { layoutWaterfall, outcomeClass, type SpanOutcome, type TraceDetail } from "../core/waterfall";
import { dateTime, ms } from "../ui/format";
import { WaterfallComponent } from "../ui/waterfall.component";

const OUTCOMES: SpanOutcome[] = ["ok", "error", "timeout", "cancelled"];

/**
 * One recent trace (/traces/:id, GET /api/traces/:traceId) as a waterfall, with the selected
 * span's details beside it. The selected span is in the URL (?span=), so a link shows the same view.
 */
@Component({
  selector: "bkg-trace",
  imports: [RouterLink, WaterfallComponent],
  template: `
    <nav class="muted mb-2 text-sm" aria-label="Breadcrumb"><a routerLink="/traces" class="hover:underline">Traces</a> / <span class="font-mono">{{ id() }}</span></nav>
    @if (notFound()) {
      <div class="card" data-testid="trace-not-found">
        <h1 class="h1">No recent trace "{{ id() }}"</h1>
        <p class="text-sm">{{ notFound() }}</p>
        <p class="mt-2 text-sm">The daemon keeps only its most recent traces in memory (and none across a restart). <a routerLink="/traces" class="text-indigo-600 underline dark:text-indigo-300">See the recent traces</a>.</p>
      </div>
    } @else if (trace(); as tr) {
      <div class="mb-4 flex flex-wrap items-baseline gap-3">
        <h1 class="text-xl font-semibold"><span class="font-mono" data-testid="trace-root">{{ rootName() }}</span></h1>
        <span class="muted text-sm" data-testid="trace-summary">{{ dateTime(view().startTime) }} · {{ ms(view().totalMs) }} · {{ tr.spans.length }} {{ tr.spans.length === 1 ? "span" : "spans" }}@if (errors() > 0) { · <b class="text-red-700 dark:text-red-300">{{ errors() }} not ok</b> }</span>
        <button class="btn ml-auto" type="button" (click)="load(id())" [disabled]="loading()">Refresh</button>
      </div>
      @if (loadError()) { <p class="error-box mb-4" role="alert">{{ loadError() }}</p> }
      @if (tr.droppedSpans) { <p class="mb-4 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100" data-testid="dropped-spans">{{ tr.droppedSpans }} more {{ tr.droppedSpans === 1 ? "span was" : "spans were" }} recorded in this trace but not kept: the daemon keeps at most <code>telemetry.tracing.spansPerTrace</code> spans of a trace (raise it in the config, or export to a collector with <code>telemetry.otlp</code>).</p> }
      <div class="flex flex-col gap-4 lg:flex-row lg:items-start">
        <section class="card min-w-0 flex-1" aria-label="Waterfall">
          @if (tr.spans.length === 0) { <p class="muted text-sm">This trace has no spans recorded.</p> }
          @else { <bkg-waterfall [waterfall]="view()" [selected]="selectedId()" (select)="choose($event)" /> }
          <p class="muted mt-3 flex flex-wrap items-center gap-3 text-xs" aria-label="Legend">
            @for (o of outcomes; track o) { <span class="flex items-center gap-1"><span class="inline-block h-2.5 w-4 rounded-sm {{ outcomeClass(o) }}" aria-hidden="true"></span>{{ o }}</span> }
            <span class="flex items-center gap-1"><span class="inline-block h-2.5 w-4 rounded-sm bg-emerald-500"><span class="block h-full w-2 bg-white/50"></span></span>queued before an instance took it</span>
          </p>
        </section>
        <aside class="card w-full shrink-0 lg:w-80" aria-label="Span details" aria-live="polite" data-testid="span-details">
          @if (selected(); as r) {
            <h2 class="h2 break-all font-mono">{{ r.span.name }}</h2>
            <dl class="grid grid-cols-[auto_1fr] items-baseline gap-x-3 gap-y-1 text-sm">
              <dt class="muted">outcome</dt><dd><span class="badge text-white {{ outcomeClass(r.span.outcome) }}" data-testid="detail-outcome">{{ r.span.outcome }}</span></dd>
              @if (r.span.errorCode !== undefined) { <dt class="muted">error code</dt><dd class="font-mono" data-testid="detail-error-code">{{ r.span.errorCode }}</dd> }
              <dt class="muted">plugin</dt><dd><a [routerLink]="['/plugins', r.span.plugin]" class="text-indigo-600 underline dark:text-indigo-300" data-testid="detail-plugin">{{ r.span.plugin }}</a></dd>
              <dt class="muted">method</dt><dd class="font-mono" data-testid="detail-method">{{ r.span.method }}</dd>
              <dt class="muted">instance</dt><dd class="font-mono">{{ r.span.instance ?? "–" }}</dd>
              <dt class="muted">node</dt><dd class="break-all font-mono">{{ r.span.node }}</dd>
              <dt class="muted">caller</dt><dd class="break-all" data-testid="detail-caller">{{ r.span.caller }}</dd>
              <dt class="muted">starts</dt><dd>+{{ offset(r.offsetMs) }} <span class="muted text-xs">({{ time(r.span.startTime) }})</span></dd>
              <dt class="muted">duration</dt><dd>{{ ms(r.span.durationMs) }}</dd>
              <dt class="muted">queue wait</dt><dd data-testid="detail-queue">{{ ms(r.span.queueWaitMs) }}</dd>
              <dt class="muted">span id</dt><dd class="break-all font-mono text-xs">{{ r.span.spanId }}</dd>
              <dt class="muted">parent</dt><dd class="text-xs"><span class="break-all font-mono">{{ r.span.parentSpanId ?? "none (the root)" }}</span>@if (r.orphan) { <span class="muted block">not in this trace: the caller is outside bkg (a client that sent a traceparent, this page) or its span was not kept</span> }</dd>
            </dl>
          } @else { <p class="muted text-sm">Select a span to see its details.</p> }
        </aside>
      </div>
    } @else if (loadError()) {
      <p class="error-box" role="alert">{{ loadError() }}</p>
    } @else {
      <p class="muted" aria-busy="true">Loading trace {{ id() }}…</p>
    }
  `,
})
export class TracePage {
  private readonly api = inject(ApiService);
  private readonly router = inject(Router);
  /** The route's :id and the ?span= query parameter (router input binding). */
  readonly id = input.required<string>();
  readonly span = input<string | undefined>();
  readonly trace = signal<TraceDetail | null>(null);
  readonly notFound = signal<string | null>(null);
  readonly loadError = signal<string | null>(null);
  readonly loading = signal(false);
  readonly view = computed(() => layoutWaterfall(this.trace()?.spans ?? []));
  /** The span named in ?span= when the trace has it, else the first row (a stale link still shows something). */
  readonly selected = computed(() => {
    const rows = this.view().rows;
    return rows.find((r) => r.span.spanId === this.span()) ?? rows[0] ?? null;
  });
  readonly selectedId = computed(() => this.selected()?.span.spanId ?? null);
  readonly rootName = computed(() => this.view().rows[0]?.span.name ?? this.id());
  readonly errors = computed(() => (this.trace()?.spans ?? []).filter((s) => s.outcome !== "ok").length);
  readonly outcomes = OUTCOMES;
  readonly outcomeClass = outcomeClass;
  readonly dateTime = dateTime;
  readonly ms = ms;
  /** A span's wall-clock start to the millisecond (spans of one call are milliseconds apart). */
  readonly time = (t: number): string => new Date(t).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3, hour12: false });
  readonly offset = (n: number): string => (n === 0 ? "0 ms" : ms(n));

  constructor() {
    effect(() => {
      const id = this.id();
      untracked(() => {
        this.trace.set(null);
        this.notFound.set(null);
        void this.load(id);
      });
    });
  }

  choose(spanId: string): void {
    void this.router.navigate([], { queryParams: { span: spanId }, replaceUrl: true });
  }

  async load(id: string): Promise<void> {
    this.loading.set(true);
    try {
      this.trace.set(await this.api.get<TraceDetail>(`/api/traces/${encodeURIComponent(id)}`));
      this.loadError.set(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) this.notFound.set(e.message);
      else this.loadError.set(`Could not load the trace: ${messageOf(e)}`);
    } finally {
      this.loading.set(false);
    }
  }
}
