import { Component, inject, signal } from "@angular/core";
import { FormsModule } from "@angular/forms";
import { ApiService, messageOf } from "../core/api.service";
import { ConfirmComponent } from "../ui/confirm.component";
import { dateTime } from "../ui/format";

interface User {
  id: string;
  username: string;
  role: string;
  createdAt?: number;
}

/** Users (admin): list, create, delete (which revokes their keys and sessions). */
@Component({
  selector: "bkg-users",
  imports: [FormsModule, ConfirmComponent],
  template: `
    <h1 class="h1">Users</h1>
    <section class="card mb-6" aria-label="Create a user">
      <h2 class="h2">Add a user</h2>
      <form class="grid gap-3 md:grid-cols-4" (ngSubmit)="create()">
        <div><label class="label" for="u-name">Username</label><input id="u-name" name="username" class="input" [(ngModel)]="username" autocomplete="off"></div>
        <div><label class="label" for="u-pass">Password (8+ characters)</label><input id="u-pass" name="password" type="password" class="input" [(ngModel)]="password" autocomplete="new-password"></div>
        <div><label class="label" for="u-role">Role</label><select id="u-role" name="role" class="input" [(ngModel)]="role"><option>viewer</option><option>operator</option><option>admin</option></select></div>
        <div class="flex items-end"><button class="btn btn-primary" type="submit" [disabled]="busy()">Add user</button></div>
      </form>
      @if (formError()) { <p class="error-box mt-3" role="alert">{{ formError() }}</p> }
    </section>
    <section class="card" aria-label="Users">
      @if (error()) { <p class="error-box" role="alert">{{ error() }}</p> }
      @else if (users() === null) { <p class="muted" aria-busy="true">Loading users…</p> }
      @else if (users()!.length === 0) { <p class="muted text-sm">No users yet: add one above (the root token or an admin key can always sign in).</p> }
      @else {
        <table class="table" data-testid="users-table">
          <thead><tr><th>username</th><th>id</th><th>role</th><th>created</th><th></th></tr></thead>
          <tbody>
            @for (u of users(); track u.id) {
              <tr><td class="font-semibold">{{ u.username }}</td><td class="font-mono text-xs">{{ u.id }}</td><td>{{ u.role }}</td><td>{{ dt(u.createdAt) }}</td>
                <td class="text-right"><button class="btn btn-danger" type="button" (click)="doomed.set(u)">Delete</button></td></tr>
            }
          </tbody>
        </table>
      }
    </section>
    <bkg-confirm [open]="doomed() !== null" [title]="'Delete user ' + doomed()?.username + '?'" message="Their API keys and sessions are revoked at once." confirmLabel="Delete" [danger]="true" (confirmed)="remove()" (cancelled)="doomed.set(null)" />
  `,
})
export class UsersPage {
  private readonly api = inject(ApiService);
  readonly users = signal<User[] | null>(null);
  readonly error = signal<string | null>(null);
  readonly formError = signal<string | null>(null);
  readonly busy = signal(false);
  readonly doomed = signal<User | null>(null);
  readonly dt = dateTime;
  username = "";
  password = "";
  role = "viewer";

  constructor() {
    void this.load();
  }

  async load(): Promise<void> {
    try {
      this.users.set((await this.api.get<{ users: User[] }>("/api/users")).users);
    } catch (e) {
      this.error.set(`Could not list the users: ${messageOf(e)}`);
    }
  }

  async create(): Promise<void> {
    this.formError.set(null);
    if (!this.username.trim()) return this.formError.set("Enter a username.");
    if (this.password.length < 8) return this.formError.set("The password needs 8 characters or more.");
    this.busy.set(true);
    try {
      await this.api.post("/api/users", { username: this.username.trim(), password: this.password, role: this.role });
      this.username = "";
      this.password = "";
      await this.load();
    } catch (e) {
      this.formError.set(messageOf(e));
    } finally {
      this.busy.set(false);
    }
  }

  async remove(): Promise<void> {
    const u = this.doomed();
    this.doomed.set(null);
    if (!u) return;
    try {
      await this.api.delete(`/api/users/${encodeURIComponent(u.id)}`);
      await this.load();
    } catch (e) {
      this.error.set(`Deleting ${u.username} failed: ${messageOf(e)}`);
    }
  }
}
