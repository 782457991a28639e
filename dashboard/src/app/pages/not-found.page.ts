import { Component } from "@angular/core";
import { RouterLink } from "@angular/router";

@Component({
  selector: "bkg-not-found",
  imports: [RouterLink],
  template: `<div class="card"><h1 class="h1">No such page</h1><p class="text-sm">The address does not name a page of the dashboard. <a routerLink="/" class="text-indigo-600 underline">Go to the overview</a>.</p></div>`,
})
export class NotFoundPage {}
