import { JsonPipe } from "@angular/common";
import { Component, computed, inject, signal } from "@angular/core";
import { ApiService, messageOf } from "../core/api.service";
import { AuthService } from "../core/auth.service";
import { dateTime } from "../ui/format";

const KINDS = ["lifecycle", "call-error", "audit", "plugin", "daemon"];

/** Stored events (GET /api/events) and, for admins, the auth audit log (GET /api/audit): filterable tables. */
@Component({
  selector: "bkg-events",
  imports: [JsonPipe],
  template: `
    <h1 class="h1">Events & audit</h1>
    <section class="card mb-6">
      <form class="mb-3 flex flex-wrap items-end gap-3 text-sm" (submit)="$event.preventDefault(); load()">
        <div><label class="label" for="ev-plugin">Plugin</label><input id="ev-plugin" class="input w-36" [value]="plugin()" (input)="plugin.set($any($event.target).value)" placeholder="any"></div>
        <div><label class="label" for="ev-since">Since</label>
          <select id="ev-since" class="input w-28" (change)="since.set($any($event.target).value)">@for (s of sinces; track s) { <option [value]="s" [selected]="s === since()">{{ s }}</option> }</select></div>
        <fieldset class="flex gap-2"><legend class="label">Kinds</legend>
          @for (k of kinds; track k) { <label class="flex items-center gap-1"><input type="checkbox" [checked]="selected().has(k)" (change)="toggle(k)"> {{ k }}</label> }
        </fieldset>
        <div><label class="label" for="ev-text">Contains</label><input id="ev-text" class="input w-40" (input)="text.set($any($event.target).value)" placeholder="filter shown rows"></div>
        <button class="btn btn-primary" type="submit">Apply</button>
      </form>
      @if (error()) { <p class="error-box" role="alert">{{ error() }}</p> }
      @else if (loading()) { <p class="muted" aria-busy="true">Loading events…</p> }
      @else if (shown().length === 0) { <p class="muted text-sm">No event matches. Widen the time range or clear the filters.</p> }
      @else {
        <div class="max-h-[32rem] overflow-auto">
          <table class="table" data-testid="events-table">
            <thead class="sticky top-0 bg-white dark:bg-slate-900"><tr><th>time</th><th>kind</th><th>plugin</th><th>what</th><th>details</th></tr></thead>
            <tbody>
              @for (e of shown(); track e.id ?? $index) {
                <tr><td class="whitespace-nowrap">{{ dateTime(e.ts) }}</td><td>{{ e.kind }}</td><td>{{ e.plugin ?? "" }}</td><td>{{ e.name ?? e.action ?? e.state ?? e.code ?? "" }}</td><td class="max-w-md truncate font-mono text-xs" [title]="e | json">{{ detail(e) }}</td></tr>
              }
            </tbody>
          </table>
        </div>
      }
    </section>
    @if (auth.can("admin")) {
      <section class="card">
        <h2 class="h2">Auth audit log <span class="muted text-xs font-normal">(keys, users, logins; newest first)</span></h2>
        @if (auditError()) { <p class="error-box" role="alert">{{ auditError() }}</p> }
        @else if (audit().length === 0) { <p class="muted text-sm">Nothing audited yet.</p> }
        @else {
          <div class="max-h-96 overflow-auto">
            <table class="table" data-testid="audit-table"><thead><tr><th>time</th><th>action</th><th>actor</th><th>target</th><th>outcome</th></tr></thead>
              <tbody>@for (a of audit(); track $index) { <tr><td class="whitespace-nowrap">{{ dateTime(a.ts ?? a.at) }}</td><td>{{ a.action }}</td><td>{{ a.actor }}</td><td>{{ a.target ?? "" }}</td><td>{{ a.ok === false ? "refused" : "ok" }}</td></tr> }</tbody>
            </table>
          </div>
        }
      </section>
    }
  `,
})
export class EventsPage {
  private readonly api = inject(ApiService);
  readonly auth = inject(AuthService);
  readonly kinds = KINDS;
  readonly sinces = ["15m", "1h", "6h", "24h", "7d"];
  readonly plugin = signal("");
  readonly since = signal("1h");
  readonly text = signal("");
  readonly selected = signal(new Set(KINDS));
  readonly rows = signal<any[]>([]);
  readonly audit = signal<any[]>([]);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly auditError = signal<string | null>(null);
  readonly dateTime = dateTime;
  readonly shown = computed(() => {
    const q = this.text().toLowerCase();
    const rows = [...this.rows()].reverse();
    return q ? rows.filter((r) => JSON.stringify(r).toLowerCase().includes(q)) : rows;
  });

  constructor() {
    void this.load();
  }

  toggle(k: string): void {
    this.selected.update((s) => {
      const n = new Set(s);
      if (n.has(k)) n.delete(k);
      else n.add(k);
      return n;
    });
  }

  detail(e: any): string {
    const { id, nodeId, ts, kind, plugin, name, ...rest } = e;
    return JSON.stringify(rest);
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    const q = new URLSearchParams({ since: this.since(), limit: "500" });
    if (this.plugin().trim()) q.set("plugin", this.plugin().trim());
    if (this.selected().size && this.selected().size < KINDS.length) q.set("kinds", [...this.selected()].join(","));
    try {
      this.rows.set(await this.api.get<any[]>(`/api/events?${q}`));
    } catch (e) {
      this.error.set(`Could not load events: ${messageOf(e)}`);
    } finally {
      this.loading.set(false);
    }
    if (this.auth.can("admin")) {
      try {
        const a = await this.api.get<any>("/api/audit?limit=200");
        this.audit.set(Array.isArray(a) ? a : (a.entries ?? a.audit ?? []));
      } catch (e) {
        this.auditError.set(`Could not load the audit log: ${messageOf(e)}`);
      }
    }
  }
}
