import { Component, input } from "@angular/core";
import { dateTime } from "./format";

/** What GET /api/plugins/:name says went wrong besides the state's reason (src/supervisor PluginSummary). */
export interface PluginTrouble {
  name: string;
  swapFailure?: { at: string; version: string; previousVersion: string; message: string; headline?: string };
  build?: { state: string; progress: string; error?: string; tail?: string[]; durationMs?: number };
  problems?: { file: string; path: string; message: string }[];
}

/**
 * A plugin's troubles, each saying what to do: a failed hot swap (the previous version keeps
 * serving), its build step running or failed (with the build's last lines), manifest problems.
 */
@Component({
  selector: "bkg-plugin-problems",
  template: `
    @let p = plugin();
    @if (p.swapFailure; as f) {
      <div class="error-box mb-4" role="alert" data-testid="swap-failure">
        <b>The hot swap to {{ f.version }} failed</b> ({{ dateTime(f.at) }}); version {{ f.previousVersion }} keeps serving. {{ f.headline ?? f.message }}
        <span class="block text-xs">Fix the plugin and reload it; this note goes once a swap succeeds.</span>
      </div>
    }
    @if (p.build; as b) {
      @if (b.state === "failed") {
        <div class="error-box mb-4" role="alert" data-testid="build-failure">
          <b>The build step failed</b>: {{ b.error ?? b.progress }}
          <span class="block text-xs">Fix the source: the daemon builds again when its inputs change, or press Start.</span>
          @if (b.tail?.length) { <pre class="mt-2 max-h-64 overflow-auto rounded bg-white/60 p-2 text-xs dark:bg-black/30" data-testid="build-tail">{{ b.tail!.join("\\n") }}</pre> }
        </div>
      } @else if (b.state === "running" || b.state === "waiting" || b.state === "checking") {
        <div class="mb-4 rounded-md bg-amber-100 p-3 text-sm text-amber-900 dark:bg-amber-900 dark:text-amber-100" role="status" data-testid="build-status">{{ b.progress }}</div>
      }
    }
    @for (pr of p.problems ?? []; track $index) {
      <div class="error-box mb-4" role="alert" data-testid="manifest-problem"><b>{{ pr.file }}</b> {{ pr.path }}: {{ pr.message }}</div>
    }
  `,
})
export class PluginProblemsComponent {
  readonly plugin = input.required<PluginTrouble>();
  readonly dateTime = (iso: string) => dateTime(Date.parse(iso));
}
