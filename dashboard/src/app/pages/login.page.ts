import { Component, inject, input, signal } from "@angular/core";
import { FormsModule } from "@angular/forms";
import { Router } from "@angular/router";
import { messageOf } from "../core/api.service";
import { AuthService } from "../core/auth.service";
import { SessionService } from "../core/session.service";

@Component({
  selector: "bkg-login",
  imports: [FormsModule],
  template: `
    <main class="flex min-h-screen items-center justify-center p-4">
      <div class="card w-full max-w-sm">
        <h1 class="h1 flex items-center gap-2"><span class="rounded bg-indigo-600 px-1.5 text-white">b</span> bkg Control Center</h1>
        @if (auth.notice() && !error()) { <p class="mb-3 rounded bg-amber-50 p-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-100" data-testid="login-notice">{{ auth.notice() }}</p> }
        <div class="mb-4 flex gap-1 text-sm" role="tablist">
          <button type="button" role="tab" class="btn" [class.btn-primary]="mode() === 'user'" [attr.aria-selected]="mode() === 'user'" (click)="mode.set('user')">User</button>
          <button type="button" role="tab" class="btn" [class.btn-primary]="mode() === 'key'" [attr.aria-selected]="mode() === 'key'" (click)="mode.set('key')">API key or token</button>
        </div>
        <form (ngSubmit)="submit()" class="space-y-3">
          @if (mode() === "user") {
            <div><label class="label" for="username">Username</label><input id="username" name="username" class="input" autocomplete="username" [(ngModel)]="username" required></div>
            <div><label class="label" for="password">Password</label><input id="password" name="password" type="password" class="input" autocomplete="current-password" [(ngModel)]="password" required></div>
          } @else {
            <div>
              <label class="label" for="key">API key or root token</label>
              <input id="key" name="key" type="password" class="input" [(ngModel)]="key" placeholder="bkg_live_… or bkg_root_…" required>
              <p class="muted mt-1 text-xs">Kept for this tab only; closing the tab forgets it.</p>
            </div>
          }
          @if (error()) { <p class="error-box" role="alert" data-testid="login-error">{{ error() }}</p> }
          <button class="btn btn-primary w-full justify-center" type="submit" [disabled]="busy()">{{ busy() ? "Signing in…" : "Sign in" }}</button>
        </form>
      </div>
    </main>
  `,
})
export class LoginPage {
  readonly auth = inject(AuthService);
  private readonly session = inject(SessionService);
  private readonly router = inject(Router);
  readonly next = input<string>();
  readonly mode = signal<"user" | "key">("user");
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);
  username = "";
  password = "";
  key = "";

  async submit(): Promise<void> {
    this.busy.set(true);
    this.error.set(null);
    try {
      if (this.mode() === "user") {
        if (!this.username || !this.password) throw new Error("enter a username and a password");
        await this.session.signIn({ username: this.username, password: this.password });
      } else {
        if (!this.key.trim()) throw new Error("paste an API key (bkg_live_…) or the root token (bkg_root_…)");
        await this.session.signIn({ key: this.key });
      }
      const next = this.next();
      await this.router.navigateByUrl(next && next.startsWith("/") && !next.startsWith("/login") ? next : "/");
    } catch (e) {
      this.error.set(messageOf(e));
    } finally {
      this.busy.set(false);
    }
  }
}
