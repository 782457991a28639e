import { Component, inject, signal } from "@angular/core";
import { FormsModule } from "@angular/forms";
import { ApiService, messageOf } from "../core/api.service";
import { FeaturesService } from "../core/features.service";
import { highlightParts } from "../ui/highlight";
import { ms } from "../ui/format";

type Mode = "fts" | "vector" | "hybrid";
const OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains"] as const;

interface Collection {
  name: string;
  dimensions: number;
  metric: string;
  model: string;
  documents: number;
  chunks: number;
}
interface FilterRow {
  field: string;
  op: (typeof OPS)[number];
  value: string;
}
interface Hit {
  id: string;
  rank: number;
  score: number;
  chunk: { index: number; text: string; heading?: string };
  document: { id: string; metadata: Record<string, unknown> };
  highlights: string[];
  ranks?: { fts?: number; vector?: number };
}
interface Answer {
  results: Hit[];
  mode: Mode;
  latencyMs: number;
  warnings?: string[];
}

/**
 * Search a BrainML collection (brainml.query): full text, vector or hybrid, filters on the
 * documents' metadata fields, results with the query's words highlighted and each mode's rank.
 * A collection can be created and documents added here too, so an empty daemon is usable.
 */
@Component({
  selector: "bkg-search",
  imports: [FormsModule],
  template: `
    <h1 class="h1">Search playground <span class="muted text-sm font-normal">({{ plugin() }})</span></h1>
    @if (error()) { <p class="error-box mb-4" role="alert" data-testid="search-error">{{ error() }}</p> }
    @if (collections() === null) { <p class="muted" aria-busy="true">Loading collections…</p> }
    @else {
      <section class="card mb-4" aria-label="Query">
        @if (collections()!.length === 0) {
          <p class="muted text-sm" data-testid="no-collections">No collection yet. Create one below and add a few documents, or index files with <code>bkg call {{ plugin() }}.ingest</code>.</p>
        } @else {
          <form class="space-y-3" (ngSubmit)="search()">
            <div class="flex flex-wrap items-end gap-3">
              <div><label class="label" for="s-collection">Collection</label>
                <select id="s-collection" name="collection" class="input w-56" [(ngModel)]="collection" (ngModelChange)="loadFields()">
                  @for (c of collections(); track c.name) { <option [value]="c.name">{{ c.name }} ({{ c.documents }} docs, {{ c.chunks }} chunks)</option> }
                </select></div>
              <div class="min-w-64 flex-1"><label class="label" for="s-query">Query</label><input id="s-query" name="query" class="input" [(ngModel)]="query" placeholder="what are you looking for?"></div>
              <div class="w-20"><label class="label" for="s-topk">Top K</label><input id="s-topk" name="topK" type="number" min="1" max="100" class="input" [(ngModel)]="topK"></div>
            </div>
            <div class="flex flex-wrap items-center gap-3">
              <span class="label mb-0" id="s-mode-label">Mode</span>
              <div role="radiogroup" aria-labelledby="s-mode-label" class="inline-flex overflow-hidden rounded-md border border-slate-300 dark:border-slate-600">
                @for (m of modes; track m.id) {
                  <button type="button" role="radio" [attr.aria-checked]="mode() === m.id" [attr.data-testid]="'mode-' + m.id" (click)="mode.set(m.id)"
                    class="px-3 py-1.5 text-sm focus-visible:outline-2 focus-visible:outline-indigo-500" [class]="mode() === m.id ? 'bg-indigo-600 text-white' : 'bg-white dark:bg-slate-800'">{{ m.label }}</button>
                }
              </div>
              <button class="btn" type="button" (click)="addFilter()" data-testid="add-filter">+ Filter</button>
              <button class="btn btn-primary ml-auto" type="submit" [disabled]="busy()">{{ busy() ? "Searching…" : "Search" }}</button>
            </div>
            @for (f of filters(); track $index; let i = $index) {
              <div class="flex flex-wrap items-end gap-2" data-testid="filter-row">
                <div><label class="label" [for]="'f-field-' + i">Field</label>
                  <select class="input w-40" [id]="'f-field-' + i" [name]="'field' + i" [(ngModel)]="f.field">@for (x of fields(); track x) { <option [value]="x">{{ x }}</option> }</select></div>
                <div><label class="label" [for]="'f-op-' + i">Operator</label>
                  <select class="input w-28" [id]="'f-op-' + i" [name]="'op' + i" [(ngModel)]="f.op">@for (o of ops; track o) { <option [value]="o">{{ o }}</option> }</select></div>
                <div class="min-w-48 flex-1"><label class="label" [for]="'f-value-' + i">Value <span class="normal-case font-normal">(numbers and true/false as such; for "in", values separated by commas)</span></label>
                  <input class="input" [id]="'f-value-' + i" [name]="'value' + i" [(ngModel)]="f.value"></div>
                <button class="btn" type="button" (click)="removeFilter(i)" [attr.aria-label]="'Remove filter ' + (i + 1)">✕</button>
              </div>
            }
          </form>
        }
      </section>

      @if (answer(); as a) {
        <section class="card mb-4" aria-label="Results">
          <p class="muted mb-2 text-xs" data-testid="search-summary">{{ a.results.length }} result{{ a.results.length === 1 ? "" : "s" }} · {{ a.mode }} · {{ ms(a.latencyMs) }} in the plugin</p>
          @for (w of a.warnings ?? []; track w) { <p class="mb-2 rounded bg-amber-100 p-2 text-sm text-amber-900 dark:bg-amber-900 dark:text-amber-100">{{ w }}</p> }
          <ol class="space-y-3">
            @for (r of a.results; track r.id) {
              <li class="rounded-md border border-slate-200 p-3 dark:border-slate-700" data-testid="search-result">
                <div class="mb-1 flex flex-wrap items-center gap-2 text-sm">
                  <span class="font-semibold">#{{ r.rank }} {{ r.document.id }}</span>
                  @if (r.chunk.heading) { <span class="muted text-xs">{{ r.chunk.heading }}</span> }
                  <span class="muted text-xs">score {{ r.score.toPrecision(3) }}</span>
                  @if (r.ranks?.fts) { <span class="badge bg-sky-100 text-sky-800 dark:bg-sky-900 dark:text-sky-100">full text #{{ r.ranks!.fts }}</span> }
                  @if (r.ranks?.vector) { <span class="badge bg-violet-100 text-violet-800 dark:bg-violet-900 dark:text-violet-100">vector #{{ r.ranks!.vector }}</span> }
                </div>
                @if (r.highlights.length) {
                  @for (h of r.highlights; track $index) {
                    <p class="text-sm" data-testid="highlight">@for (part of parts(h); track $index) { @if (part.mark) { <mark class="rounded bg-yellow-200 px-0.5 dark:bg-yellow-700 dark:text-white">{{ part.text }}</mark> } @else { {{ part.text }} } }</p>
                  }
                } @else { <p class="text-sm">{{ r.chunk.text }}</p> }
                @if (metaOf(r).length) {
                  <div class="mt-1 flex flex-wrap gap-1">@for (m of metaOf(r); track m) { <span class="badge bg-slate-100 font-mono font-normal dark:bg-slate-800">{{ m }}</span> }</div>
                }
              </li>
            } @empty { <li class="muted text-sm" data-testid="no-results">Nothing matched. Try the vector or hybrid mode (they find paraphrases), fewer words, or fewer filters.</li> }
          </ol>
        </section>
      }

      <section class="card grid gap-4 md:grid-cols-2" aria-label="Add content">
        <form class="space-y-2" (ngSubmit)="createCollection()">
          <h2 class="h2">New collection</h2>
          <label class="label" for="c-name">Name</label>
          <input id="c-name" name="cname" class="input" [(ngModel)]="newCollection" placeholder="handbook">
          <button class="btn" type="submit" [disabled]="!newCollection.trim()">Create</button>
        </form>
        <form class="space-y-2" (ngSubmit)="addDocument()">
          <h2 class="h2">Add a document{{ collection ? " to " + collection : "" }}</h2>
          <label class="label" for="d-id">Id (optional: replaces a document with the same id)</label>
          <input id="d-id" name="did" class="input" [(ngModel)]="docId">
          <label class="label" for="d-text">Text</label>
          <textarea id="d-text" name="dtext" rows="3" class="input" [(ngModel)]="docText"></textarea>
          <label class="label" for="d-meta">Metadata (a JSON object)</label>
          <input id="d-meta" name="dmeta" class="input font-mono" [(ngModel)]="docMeta" placeholder='{"kind": "rock", "hardness": 6}'>
          <button class="btn" type="submit" [disabled]="!collection || !docText.trim()">Add</button>
          @if (added()) { <p class="text-sm text-emerald-700 dark:text-emerald-300" role="status">{{ added() }}</p> }
        </form>
      </section>
    }
  `,
})
export class SearchPage {
  private readonly api = inject(ApiService);
  private readonly features = inject(FeaturesService);
  readonly plugin = signal("brainml");
  readonly collections = signal<Collection[] | null>(null);
  readonly fields = signal<string[]>([]);
  readonly filters = signal<FilterRow[]>([]);
  readonly mode = signal<Mode>("hybrid");
  readonly answer = signal<Answer | null>(null);
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);
  readonly added = signal<string | null>(null);
  readonly modes: { id: Mode; label: string }[] = [
    { id: "fts", label: "Full text" },
    { id: "vector", label: "Vector" },
    { id: "hybrid", label: "Hybrid" },
  ];
  readonly ops = OPS;
  readonly parts = highlightParts;
  readonly ms = ms;
  collection = "";
  query = "";
  topK = 5;
  newCollection = "";
  docId = "";
  docText = "";
  docMeta = "";

  constructor() {
    void this.features.probe().then(() => {
      const p = this.features.search();
      if (!p) return this.error.set("No search plugin runs on this daemon (one providing query, collections.list and stats, such as brainml): add its manifest.");
      this.plugin.set(p);
      void this.loadCollections();
    });
  }

  metaOf(r: Hit): string[] {
    return Object.entries(r.document.metadata ?? {}).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
  }

  addFilter(): void {
    this.filters.update((f) => [...f, { field: this.fields()[0] ?? "", op: "eq", value: "" }]);
  }
  removeFilter(i: number): void {
    this.filters.update((f) => f.filter((_, j) => j !== i));
  }

  async loadCollections(select?: string): Promise<void> {
    try {
      const r = await this.api.call<{ collections: Collection[] }>(this.plugin(), "collections.list");
      this.collections.set(r.collections);
      if (select || !r.collections.some((c) => c.name === this.collection)) this.collection = select ?? r.collections[0]?.name ?? "";
      await this.loadFields();
    } catch (e) {
      this.collections.set([]);
      this.error.set(`Could not list the collections: ${messageOf(e)}`);
    }
  }

  /** The metadata fields a filter can name (brainml.stats of the collection). */
  async loadFields(): Promise<void> {
    if (!this.collection) return this.fields.set([]);
    try {
      const s = await this.api.call<{ metadataFields?: string[] }>(this.plugin(), "stats", { collection: this.collection });
      this.fields.set(s.metadataFields ?? []);
    } catch (e) {
      this.error.set(messageOf(e));
    }
  }

  async search(): Promise<void> {
    this.error.set(null);
    this.busy.set(true);
    try {
      const params: Record<string, unknown> = { collection: this.collection, query: this.query, mode: this.mode(), topK: Number(this.topK) || 5 };
      const filters = this.filters().map((f) => ({ field: f.field, op: f.op, value: f.op === "in" ? f.value.split(",").map((v) => valueOf(v.trim())) : valueOf(f.value) }));
      if (filters.length) params["filters"] = filters;
      this.answer.set(await this.api.call<Answer>(this.plugin(), "query", params));
    } catch (e) {
      this.answer.set(null);
      this.error.set(messageOf(e));
    } finally {
      this.busy.set(false);
    }
  }

  async createCollection(): Promise<void> {
    const name = this.newCollection.trim();
    this.error.set(null);
    try {
      await this.api.call(this.plugin(), "collections.create", { name });
      this.newCollection = "";
      await this.loadCollections(name);
    } catch (e) {
      this.error.set(`Could not create ${name}: ${messageOf(e)}`);
    }
  }

  async addDocument(): Promise<void> {
    this.error.set(null);
    this.added.set(null);
    let metadata: unknown;
    try {
      metadata = this.docMeta.trim() ? JSON.parse(this.docMeta) : undefined;
      if (metadata !== undefined && (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))) throw new Error("not an object");
    } catch {
      return this.error.set('Metadata must be a JSON object, for example {"kind": "rock"}.');
    }
    try {
      const doc = { text: this.docText, ...(this.docId.trim() ? { id: this.docId.trim() } : {}), ...(metadata ? { metadata } : {}) };
      const r = await this.api.call<{ ids: string[]; chunks: number }>(this.plugin(), "index", { collection: this.collection, documents: [doc] });
      this.docId = this.docText = this.docMeta = "";
      // The counts in the collection list first, then the note: what the note says is already shown.
      await this.loadCollections(this.collection);
      this.added.set(`Added ${r.ids.join(", ")} (${r.chunks} chunk${r.chunks === 1 ? "" : "s"}).`);
    } catch (e) {
      this.error.set(`Could not add the document: ${messageOf(e)}`);
    }
  }
}

/** A filter value as typed: a number, true/false or null as such, anything else as text. */
function valueOf(text: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === "true" || text === "false") return text === "true";
  return text;
}
