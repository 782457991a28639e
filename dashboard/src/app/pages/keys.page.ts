import { Component, inject, signal } from "@angular/core";
import { FormsModule } from "@angular/forms";
import { ApiService, messageOf } from "../core/api.service";
import { ConfirmComponent } from "../ui/confirm.component";
import { dateTime } from "../ui/format";

interface Key {
  id: string;
  name: string;
  role: string;
  scopes: string[];
  owner: { id: string; username: string } | null;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** API keys (admin): create (the secret shown once, with a copy button), rotate, revoke. */
@Component({
  selector: "bkg-keys",
  imports: [FormsModule, ConfirmComponent],
  template: `
    <h1 class="h1">API keys</h1>
    <section class="card mb-6" aria-label="Create a key">
      <h2 class="h2">Create a key</h2>
      <form class="grid gap-3 md:grid-cols-5" (ngSubmit)="create()">
        <div><label class="label" for="k-name">Name</label><input id="k-name" name="name" class="input" [(ngModel)]="name" required placeholder="ci-deploy"></div>
        <div><label class="label" for="k-role">Role</label>
          <select id="k-role" name="role" class="input" [(ngModel)]="role"><option>viewer</option><option>operator</option><option>admin</option></select></div>
        <div class="md:col-span-2"><label class="label" for="k-scopes">Scopes (comma-separated)</label><input id="k-scopes" name="scopes" class="input" [(ngModel)]="scopes" placeholder="echo.*, bkg.plugins.*"></div>
        <div><label class="label" for="k-exp">Expires in days</label><input id="k-exp" name="exp" class="input" type="number" min="1" [(ngModel)]="expiresInDays" placeholder="never"></div>
        <div class="md:col-span-5"><button class="btn btn-primary" type="submit" [disabled]="busy()">Create key</button></div>
      </form>
      @if (formError()) { <p class="error-box mt-3" role="alert" data-testid="key-form-error">{{ formError() }}</p> }
    </section>

    @if (secret(); as s) {
      <section class="card mb-6 border-emerald-400" role="status" aria-label="The new key">
        <h2 class="h2">{{ s.title }}</h2>
        <p class="mb-2 text-sm">Copy it now: it is shown this once and cannot be shown again.</p>
        <div class="flex gap-2"><input class="input font-mono" readonly [value]="s.key" data-testid="new-key" aria-label="The new key"><button class="btn" type="button" (click)="copy(s.key)">{{ copied() ? "Copied" : "Copy" }}</button><button class="btn" type="button" (click)="secret.set(null)">Done</button></div>
      </section>
    }

    <section class="card" aria-label="Keys">
      <div class="mb-2 flex items-center justify-between"><h2 class="h2">Keys</h2><label class="flex items-center gap-1 text-sm"><input type="checkbox" [checked]="showRevoked()" (change)="showRevoked.set($any($event.target).checked)"> show revoked</label></div>
      @if (error()) { <p class="error-box" role="alert">{{ error() }}</p> }
      @else if (keys() === null) { <p class="muted" aria-busy="true">Loading keys…</p> }
      @else if (visible().length === 0) { <p class="muted text-sm">No API keys yet. Create one above for a program that calls bkg.</p> }
      @else {
        <table class="table" data-testid="keys-table">
          <thead><tr><th>name</th><th>id</th><th>role</th><th>scopes</th><th>created</th><th>expires</th><th>last used</th><th></th></tr></thead>
          <tbody>
            @for (k of visible(); track k.id) {
              <tr [attr.data-testid]="'key-' + k.name" [class.opacity-50]="k.revokedAt">
                <td class="font-semibold">{{ k.name }}</td><td class="font-mono text-xs">{{ k.id }}</td><td>{{ k.role }}</td><td class="font-mono text-xs">{{ k.scopes.join(", ") }}</td>
                <td>{{ dt(k.createdAt) }}</td><td>{{ k.expiresAt ? dt(k.expiresAt) : "never" }}</td><td>{{ dt(k.lastUsedAt) }}</td>
                <td class="whitespace-nowrap text-right">
                  @if (k.revokedAt) { <span class="badge bg-slate-200 dark:bg-slate-700">revoked</span> }
                  @else {
                    <button class="btn" type="button" (click)="confirmAsk('rotate', k)">Rotate</button>
                    <button class="btn btn-danger ml-1" type="button" (click)="confirmAsk('revoke', k)" [attr.data-testid]="'revoke-' + k.name">Revoke</button>
                  }
                </td>
              </tr>
            }
          </tbody>
        </table>
      }
    </section>
    <bkg-confirm [open]="ask() !== null" [title]="ask()?.verb === 'revoke' ? 'Revoke key ' + ask()?.key?.name + '?' : 'Rotate key ' + ask()?.key?.name + '?'"
      [message]="ask()?.verb === 'revoke' ? 'Requests with it are refused from the next one on; open WebSocket sessions that use it are closed.' : 'It gets a new secret; the old one stops working at once.'"
      [confirmLabel]="ask()?.verb === 'revoke' ? 'Revoke' : 'Rotate'" [danger]="ask()?.verb === 'revoke'" (confirmed)="act()" (cancelled)="ask.set(null)" />
  `,
})
export class KeysPage {
  private readonly api = inject(ApiService);
  readonly keys = signal<Key[] | null>(null);
  readonly showRevoked = signal(false);
  readonly error = signal<string | null>(null);
  readonly formError = signal<string | null>(null);
  readonly busy = signal(false);
  readonly secret = signal<{ title: string; key: string } | null>(null);
  readonly copied = signal(false);
  readonly ask = signal<{ verb: "rotate" | "revoke"; key: Key } | null>(null);
  readonly dt = dateTime;
  name = "";
  role = "operator";
  scopes = "";
  expiresInDays: number | null = null;

  visible = () => (this.keys() ?? []).filter((k) => this.showRevoked() || !k.revokedAt);

  constructor() {
    void this.load();
  }

  async load(): Promise<void> {
    try {
      this.keys.set((await this.api.get<{ keys: Key[] }>("/api/keys")).keys);
      this.error.set(null);
    } catch (e) {
      this.error.set(`Could not list the keys: ${messageOf(e)}`);
    }
  }

  async create(): Promise<void> {
    this.formError.set(null);
    const scopes = this.scopes.split(",").map((s) => s.trim()).filter(Boolean);
    if (!this.name.trim()) return this.formError.set("Give the key a name (who or what uses it).");
    if (!scopes.length) return this.formError.set('Give at least one scope, e.g. "echo.*" (a plugin\'s methods) or "*" (everything the role allows).');
    if (this.expiresInDays !== null && !(this.expiresInDays > 0)) return this.formError.set("Expires in days must be a positive number, or empty for a key that never expires.");
    this.busy.set(true);
    try {
      const body: Record<string, unknown> = { name: this.name.trim(), role: this.role, scopes };
      if (this.expiresInDays) body["expiresInDays"] = this.expiresInDays;
      const k = await this.api.post<Key & { key: string }>("/api/keys", body);
      this.copied.set(false);
      this.secret.set({ title: `Key "${k.name}" created`, key: k.key });
      this.name = "";
      this.scopes = "";
      this.expiresInDays = null;
      await this.load();
    } catch (e) {
      this.formError.set(messageOf(e));
    } finally {
      this.busy.set(false);
    }
  }

  confirmAsk(verb: "rotate" | "revoke", key: Key): void {
    this.ask.set({ verb, key });
  }

  async act(): Promise<void> {
    const a = this.ask();
    this.ask.set(null);
    if (!a) return;
    try {
      if (a.verb === "revoke") await this.api.delete(`/api/keys/${encodeURIComponent(a.key.id)}?reason=${encodeURIComponent("revoked from the dashboard")}`);
      else {
        const k = await this.api.post<{ key: string }>(`/api/keys/${encodeURIComponent(a.key.id)}/rotate`);
        this.copied.set(false);
        this.secret.set({ title: `Key "${a.key.name}" rotated: its new secret`, key: k.key });
      }
      await this.load();
    } catch (e) {
      this.error.set(`${a.verb === "revoke" ? "Revoking" : "Rotating"} ${a.key.name} failed: ${messageOf(e)}`);
    }
  }

  async copy(text: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
      this.copied.set(true);
    } catch {
      this.formError.set("The browser did not allow copying; select the key and copy it by hand.");
    }
  }
}
