import { Component, computed, effect, inject, signal } from "@angular/core";
import { Router, RouterLink, RouterLinkActive, RouterOutlet } from "@angular/router";
import { AuthService } from "./core/auth.service";
import { FeaturesService } from "./core/features.service";
import { LiveService } from "./core/live.service";
import { SessionService } from "./core/session.service";
import { ThemeService } from "./core/theme.service";

/** The frame of every page: navigation (what the role may see), the link state, theme, sign out. */
@Component({
  selector: "bkg-shell",
  imports: [RouterOutlet, RouterLink, RouterLinkActive],
  template: `
    <a href="#main" class="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-indigo-600 focus:p-2 focus:text-white">Skip to content</a>
    <div class="flex min-h-screen">
      <nav class="flex w-52 shrink-0 flex-col gap-1 border-r border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900" aria-label="Main">
        <div class="mb-4 flex items-center gap-2 px-2 text-lg font-bold"><span class="rounded bg-indigo-600 px-1.5 text-white">b</span> bkg</div>
        @for (l of links(); track l.path) {
          <a [routerLink]="l.path" routerLinkActive="bg-indigo-50 text-indigo-700 dark:bg-indigo-950 dark:text-indigo-200" [routerLinkActiveOptions]="{ exact: l.path === '/' }"
             class="rounded-md px-2 py-1.5 text-sm font-medium hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:hover:bg-slate-800">{{ l.label }}</a>
        }
        <div class="mt-auto space-y-2 border-t border-slate-200 pt-3 text-xs dark:border-slate-800">
          <div data-testid="whoami"><span class="muted">signed in as </span><b>{{ auth.principal()?.name }}</b> <span class="badge bg-slate-100 dark:bg-slate-800">{{ auth.role() }}</span></div>
          <div class="flex gap-2">
            <button class="btn" type="button" (click)="theme.toggle()" [attr.aria-label]="theme.dark() ? 'Switch to the light theme' : 'Switch to the dark theme'">{{ theme.dark() ? "☀ Light" : "☾ Dark" }}</button>
            <button class="btn" type="button" (click)="signOut()">Sign out</button>
          </div>
        </div>
      </nav>
      <div class="flex min-w-0 flex-1 flex-col">
        @if (live.state() === "reconnecting" || live.state() === "connecting") {
          <div role="status" data-testid="link-banner" class="bg-amber-100 px-4 py-2 text-sm text-amber-900 dark:bg-amber-900 dark:text-amber-100">
            {{ live.state() === "reconnecting" ? "The connection to the daemon was lost (it may be restarting); reconnecting…" : "Connecting to the daemon…" }}
          </div>
        } @else if (showReconnected()) {
          <div role="status" data-testid="link-banner" class="bg-emerald-100 px-4 py-2 text-sm text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100">Reconnected to the daemon; the figures are live again.</div>
        }
        <main id="main" class="min-w-0 flex-1 p-6"><router-outlet /></main>
      </div>
    </div>
  `,
})
export class ShellComponent {
  readonly auth = inject(AuthService);
  readonly live = inject(LiveService);
  readonly theme = inject(ThemeService);
  private readonly features = inject(FeaturesService);
  private readonly session = inject(SessionService);
  private readonly router = inject(Router);
  private readonly now = signal(Date.now());

  readonly links = computed(() => {
    const l = [
      { path: "/", label: "Overview" },
      { path: "/events", label: "Events & audit" },
    ];
    if (this.features.traces()) l.push({ path: "/traces", label: "Traces" });
    if (this.features.models()) l.push({ path: "/models", label: "Models" });
    if (this.auth.can("operator")) {
      // Calls need the operator role: a viewer would only be refused.
      if (this.features.chat()) l.push({ path: "/playground/chat", label: "Chat playground" });
      if (this.features.search()) l.push({ path: "/playground/search", label: "Search playground" });
      if (this.features.faces()) l.push({ path: "/playground/faces", label: "Faces playground" });
    }
    if (this.auth.can("admin")) l.push({ path: "/users", label: "Users" }, { path: "/keys", label: "API keys" });
    l.push({ path: "/settings", label: "Settings" });
    return l;
  });

  /** The "reconnected" notice stays for 10 s. */
  readonly showReconnected = computed(() => {
    const at = this.live.reconnectedAt();
    return at !== null && this.now() - at < 10_000;
  });

  constructor() {
    void this.features.probe();
    effect((onCleanup) => {
      if (this.live.reconnectedAt() === null) return;
      this.now.set(Date.now());
      const t = setInterval(() => this.now.set(Date.now()), 1000);
      onCleanup(() => clearInterval(t));
    });
  }

  signOut(): void {
    this.session.signOut();
    void this.router.navigate(["/login"]);
  }
}
