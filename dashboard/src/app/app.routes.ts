import { inject } from "@angular/core";
import { Router, type CanActivateFn, type Routes } from "@angular/router";
import { AuthService, type Role } from "./core/auth.service";
import { SessionService } from "./core/session.service";

/** Pages need a credential that /auth/me accepts; without one, the login page (coming back afterwards). */
const signedIn: CanActivateFn = async (_route, state) => {
  // inject() only works before the first await.
  const session = inject(SessionService);
  const router = inject(Router);
  const ok = await session.restore();
  return ok ? true : router.createUrlTree(["/login"], { queryParams: { next: state.url } });
};

/** A page for a role: others are sent to the overview (the server refuses them anyway). */
const role =
  (min: Role): CanActivateFn =>
  () =>
    inject(AuthService).can(min) ? true : inject(Router).createUrlTree(["/"]);

export const routes: Routes = [
  { path: "login", loadComponent: () => import("./pages/login.page").then((m) => m.LoginPage), title: "Sign in · bkg" },
  {
    path: "",
    canActivate: [signedIn],
    loadComponent: () => import("./shell.component").then((m) => m.ShellComponent),
    children: [
      { path: "", pathMatch: "full", loadComponent: () => import("./pages/overview.page").then((m) => m.OverviewPage), title: "Overview · bkg" },
      { path: "plugins/:name", loadComponent: () => import("./pages/plugin.page").then((m) => m.PluginPage), title: "Plugin · bkg" },
      { path: "events", loadComponent: () => import("./pages/events.page").then((m) => m.EventsPage), title: "Events · bkg" },
      { path: "traces", loadComponent: () => import("./pages/traces.page").then((m) => m.TracesPage), title: "Traces · bkg" },
      { path: "traces/:id", loadComponent: () => import("./pages/trace.page").then((m) => m.TracePage), title: "Trace · bkg" },
      { path: "users", canActivate: [role("admin")], loadComponent: () => import("./pages/users.page").then((m) => m.UsersPage), title: "Users · bkg" },
      { path: "keys", canActivate: [role("admin")], loadComponent: () => import("./pages/keys.page").then((m) => m.KeysPage), title: "API keys · bkg" },
      { path: "models", loadComponent: () => import("./pages/models.page").then((m) => m.ModelsPage), title: "Models · bkg" },
      { path: "playground/chat", loadComponent: () => import("./pages/chat.page").then((m) => m.ChatPage), title: "Chat · bkg" },
      { path: "playground/search", canActivate: [role("operator")], loadComponent: () => import("./pages/search.page").then((m) => m.SearchPage), title: "Search · bkg" },
      { path: "playground/faces", canActivate: [role("operator")], loadComponent: () => import("./pages/faces.page").then((m) => m.FacesPage), title: "Faces · bkg" },
      { path: "settings", loadComponent: () => import("./pages/settings.page").then((m) => m.SettingsPage), title: "Settings · bkg" },
      { path: "**", loadComponent: () => import("./pages/not-found.page").then((m) => m.NotFoundPage), title: "Not found · bkg" },
    ],
  },
];
