import { JsonPipe } from "@angular/common";
import { Component, DestroyRef, computed, inject, input, signal } from "@angular/core";
import { RouterLink } from "@angular/router";
import { FeaturesService } from "../core/features.service";
import { LiveService } from "../core/live.service";
import { startTrace } from "../core/traceparent";
import { SchemaFormComponent } from "./schema-form.component";

interface Method {
  name: string;
  description?: string;
  paramsSchema?: Record<string, unknown>;
  streaming?: boolean;
}

/**
 * Try a plugin's methods: a searchable list (a plugin may have hundreds), the chosen method's form
 * from its paramsSchema, and the call over the WebSocket so streamed values show as they arrive,
 * with a cancel button. Each call carries a traceparent of its own, so when it ends the page links
 * to the trace the daemon recorded for it (where the daemon keeps traces).
 */
@Component({
  selector: "bkg-method-runner",
  imports: [SchemaFormComponent, JsonPipe, RouterLink],
  template: `
    <div class="grid gap-4 md:grid-cols-[14rem_1fr]">
      <div>
        <label class="sr-only" for="method-search">Find a method</label>
        <input id="method-search" class="input mb-2" type="search" placeholder="Find a method ({{ methods().length }})" (input)="filter.set($any($event.target).value)">
        <ul class="max-h-80 overflow-auto text-sm" role="listbox" aria-label="Methods">
          @for (m of visible(); track m.name) {
            <li><button type="button" role="option" class="w-full rounded px-2 py-1 text-left font-mono hover:bg-slate-100 dark:hover:bg-slate-800" [class.bg-indigo-50]="m.name === selected()?.name" [class.dark:bg-indigo-950]="m.name === selected()?.name" [attr.aria-selected]="m.name === selected()?.name" [attr.data-testid]="'method-' + m.name" (click)="choose(m)">{{ m.name }}@if (m.streaming) { <span class="badge bg-sky-100 text-sky-800 dark:bg-sky-900 dark:text-sky-100">stream</span> }</button></li>
          } @empty { <li class="muted p-2 text-sm">No method matches.</li> }
          @if (hidden() > 0) { <li class="muted p-2 text-xs">{{ hidden() }} more: refine the search.</li> }
        </ul>
      </div>
      <div class="min-w-0">
        @if (selected(); as m) {
          <h3 class="font-mono font-semibold">{{ plugin() }}.{{ m.name }}</h3>
          @if (m.description) { <p class="muted mb-3 text-sm">{{ m.description }}</p> }
          @if (!canCall()) { <p class="muted mb-2 text-sm">Your role may not call methods (operator or admin can).</p> }
          <bkg-schema-form [schema]="m.paramsSchema" [formId]="'m-' + m.name" [disabled]="running() || !canCall()" (submitted)="run($event)">
            @if (running()) { <button class="btn btn-danger" type="button" (click)="cancel()" data-testid="cancel-call">Cancel</button> }
          </bkg-schema-form>
          @if (chunks().length || result() !== undefined || error()) {
            <div class="mt-4 space-y-2" aria-live="polite">
              @if (chunks().length) {
                <div class="label">streamed ({{ chunks().length }})</div>
                <ol class="max-h-48 overflow-auto rounded bg-slate-100 p-2 font-mono text-xs dark:bg-slate-800" data-testid="call-chunks">
                  @for (c of chunks(); track $index) { <li data-testid="chunk">{{ c | json }}</li> }
                </ol>
              }
              @if (result() !== undefined) { <div class="label">result</div><pre class="overflow-auto rounded bg-emerald-50 p-2 text-xs dark:bg-emerald-950" data-testid="call-result">{{ result() | json }}</pre> }
              @if (error()) { <p class="error-box" role="alert" data-testid="call-error">{{ error() }}</p> }
              @if (traceId() && !running() && features.traces()) { <a class="text-sm text-indigo-600 underline dark:text-indigo-300" [routerLink]="['/traces', traceId()]" data-testid="call-trace">This call's trace →</a> }
            </div>
          }
        } @else {
          <p class="muted text-sm">Choose a method to try it.</p>
        }
      </div>
    </div>
  `,
})
export class MethodRunnerComponent {
  private readonly live = inject(LiveService);
  readonly features = inject(FeaturesService);
  readonly plugin = input.required<string>();
  readonly methods = input.required<Method[]>();
  readonly canCall = input(false);
  readonly filter = signal("");
  readonly selected = signal<Method | null>(null);
  readonly running = signal(false);
  readonly chunks = signal<unknown[]>([]);
  readonly result = signal<unknown>(undefined);
  readonly error = signal<string | null>(null);
  /** The trace id the last call was sent with. */
  readonly traceId = signal<string | null>(null);
  private cancelFn: (() => void) | null = null;
  private readonly LIMIT = 100;

  private readonly matching = computed(() => {
    const q = this.filter().toLowerCase();
    return this.methods().filter((m) => !q || m.name.toLowerCase().includes(q) || (m.description ?? "").toLowerCase().includes(q));
  });
  readonly visible = computed(() => this.matching().slice(0, this.LIMIT));
  readonly hidden = computed(() => Math.max(0, this.matching().length - this.LIMIT));

  constructor() {
    inject(DestroyRef).onDestroy(() => this.cancelFn?.());
  }

  choose(m: Method): void {
    this.selected.set(m);
    this.traceId.set(null);
    this.chunks.set([]);
    this.result.set(undefined);
    this.error.set(null);
  }

  run(params: unknown): void {
    const m = this.selected();
    if (!m) return;
    this.running.set(true);
    this.chunks.set([]);
    this.result.set(undefined);
    this.error.set(null);
    const trace = startTrace();
    this.traceId.set(trace.traceId);
    this.cancelFn = this.live.call(
      `${this.plugin()}.${m.name}`,
      params,
      {
        progress: (v) => this.chunks.update((c) => (c.length >= 10_000 ? c : [...c, v])),
        result: (v) => this.done(() => this.result.set(v)),
        error: (e) => this.done(() => this.error.set(`${e.message} (code ${e.code})`)),
      },
      { traceparent: trace.traceparent },
    );
  }

  cancel(): void {
    this.cancelFn?.();
  }

  private done(f: () => void): void {
    f();
    this.running.set(false);
    this.cancelFn = null;
  }
}
