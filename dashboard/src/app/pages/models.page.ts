import { JsonPipe } from "@angular/common";
import { Component, DestroyRef, inject, signal } from "@angular/core";
import { FormsModule } from "@angular/forms";
import { ApiService, messageOf } from "../core/api.service";
import { AuthService } from "../core/auth.service";
import { LiveService } from "../core/live.service";
import { ConfirmComponent } from "../ui/confirm.component";
import { bytes, dateTime } from "../ui/format";

interface Model {
  name: string;
  format?: string;
  size?: number;
  source?: string;
  licence?: string;
  metadata?: Record<string, unknown>;
  pulledAt?: number | string;
}
interface Pull {
  id?: string;
  name: string;
  received?: number;
  total?: number;
  done?: boolean;
  error?: string;
}

/**
 * The model store (GET /api/models, POST /api/models/pull, DELETE /api/models/:name). The page is
 * listed only when the daemon answers /api/models (the model store may not be in this build).
 * A pull's progress comes from the WebSocket's events while it runs; the list refreshes when it ends.
 */
@Component({
  selector: "bkg-models",
  imports: [FormsModule, JsonPipe, ConfirmComponent],
  template: `
    <h1 class="h1">Models</h1>
    @if (unavailable()) {
      <div class="card text-sm">This daemon has no model store (GET /api/models answers 404). Update bkg to a version with <code>bkg models</code>.</div>
    } @else {
      @if (auth.can("operator")) {
        <section class="card mb-6" aria-label="Pull a model">
          <form class="flex flex-wrap items-end gap-3" (ngSubmit)="pull()">
            <div class="min-w-64 flex-1"><label class="label" for="m-name">Catalog name, URL or path</label><input id="m-name" name="name" class="input" [(ngModel)]="name" placeholder="smollm2-135m-instruct"></div>
            <button class="btn btn-primary" type="submit" [disabled]="!name.trim()">Pull</button>
          </form>
          @for (p of pulls(); track p.id ?? p.name) {
            <div class="mt-3 text-sm" data-testid="pull-progress">
              <div class="flex justify-between"><span>{{ p.name }}</span><span>{{ p.error ? "failed" : p.done ? "done" : p.total ? pctOf(p) + "%" : "starting…" }}</span></div>
              <div class="h-2 w-full overflow-hidden rounded bg-slate-200 dark:bg-slate-700" role="progressbar" [attr.aria-valuenow]="pctOf(p)" aria-valuemin="0" aria-valuemax="100" [attr.aria-label]="'pulling ' + p.name">
                <div class="h-2 bg-indigo-600 transition-all" [class.animate-pulse]="!p.total && !p.done" [style.width.%]="p.done ? 100 : p.total ? pctOf(p) : 15"></div>
              </div>
              @if (p.error) { <p class="error-box mt-1">{{ p.error }}</p> }
            </div>
          }
        </section>
      }
      @if (error()) { <p class="error-box mb-4" role="alert">{{ error() }}</p> }
      <section class="card" aria-label="Pulled models">
        @if (models() === null) { <p class="muted" aria-busy="true">Loading models…</p> }
        @else if (models()!.length === 0) { <p class="muted text-sm">No model is pulled yet. Pull one above (for example <code>smollm2-135m-instruct</code>) or run <code>bkg models pull NAME</code>.</p> }
        @else {
          <table class="table" data-testid="models-table">
            <thead><tr><th>name</th><th>format</th><th>size</th><th>source</th><th>licence</th><th>pulled</th><th>metadata</th><th></th></tr></thead>
            <tbody>
              @for (m of models(); track m.name) {
                <tr><td class="font-semibold">{{ m.name }}</td><td>{{ m.format }}</td><td>{{ bytes(m.size) }}</td><td class="max-w-48 truncate text-xs" [title]="m.source ?? ''">{{ m.source }}</td><td>{{ m.licence }}</td><td>{{ when(m.pulledAt) }}</td>
                  <td><details><summary class="cursor-pointer text-xs">show</summary><pre class="max-w-md overflow-auto text-xs">{{ m.metadata | json }}</pre></details></td>
                  <td>@if (auth.can("operator")) { <button class="btn btn-danger" type="button" (click)="doomed.set(m)">Delete</button> }</td></tr>
              }
            </tbody>
          </table>
        }
      </section>
    }
    <bkg-confirm [open]="doomed() !== null" [title]="'Delete ' + doomed()?.name + '?'" message="Its files are removed from the model store; plugins using it can no longer load it." confirmLabel="Delete" [danger]="true" (confirmed)="remove()" (cancelled)="doomed.set(null)" />
  `,
})
export class ModelsPage {
  private readonly api = inject(ApiService);
  readonly auth = inject(AuthService);
  readonly models = signal<Model[] | null>(null);
  readonly pulls = signal<Pull[]>([]);
  readonly unavailable = signal(false);
  readonly error = signal<string | null>(null);
  readonly doomed = signal<Model | null>(null);
  readonly bytes = bytes;
  name = "";

  constructor() {
    void this.load();
    const off = inject(LiveService).watch("events", undefined, (m) => this.onEvent(m.payload));
    inject(DestroyRef).onDestroy(off);
  }

  pctOf(p: Pull): number {
    return p.total ? Math.min(100, Math.round(((p.received ?? 0) / p.total) * 100)) : 0;
  }
  when(t: number | string | undefined): string {
    return t === undefined ? "–" : dateTime(typeof t === "number" ? t : Date.parse(t));
  }

  async load(): Promise<void> {
    try {
      const r = await this.api.optional<Model[] | { models: Model[] }>("/api/models");
      if (r === null) return this.unavailable.set(true);
      this.models.set(Array.isArray(r) ? r : r.models);
    } catch (e) {
      this.error.set(`Could not list the models: ${messageOf(e)}`);
    }
  }

  async pull(): Promise<void> {
    const name = this.name.trim();
    this.error.set(null);
    try {
      const r = await this.api.post<{ id?: string; pullId?: string }>("/api/models/pull", { name });
      this.pulls.update((p) => [...p, { id: r.id ?? r.pullId, name }]);
      this.name = "";
    } catch (e) {
      this.error.set(`Pulling ${name} failed: ${messageOf(e)}`);
    }
  }

  async remove(): Promise<void> {
    const m = this.doomed();
    this.doomed.set(null);
    if (!m) return;
    try {
      await this.api.delete(`/api/models/${encodeURIComponent(m.name)}`);
      await this.load();
    } catch (e) {
      this.error.set(`Deleting ${m.name} failed: ${messageOf(e)}`);
    }
  }

  /** A pull's progress event: whatever names the pull (id or model name) with received/total bytes. */
  private onEvent(e: any): void {
    const d = e?.data ?? e;
    const id = d?.pullId ?? d?.id;
    const name = d?.model ?? d?.name;
    const p = this.pulls().find((x) => (id && x.id === id) || (name && x.name === name));
    if (!p) return;
    const received = d.received ?? d.bytes ?? d.receivedBytes;
    const total = d.total ?? d.totalBytes ?? d.size;
    const done = d.done === true || e?.name === "model.pulled" || d.state === "done";
    const error = d.error ? String(d.error.message ?? d.error) : undefined;
    this.pulls.update((all) => all.map((x) => (x === p ? { ...x, received: received ?? x.received, total: total ?? x.total, done: done || x.done, error } : x)));
    if (done) void this.load();
  }
}
