import { CdkVirtualScrollViewport, ScrollingModule } from "@angular/cdk/scrolling";
import { Component, DestroyRef, computed, effect, inject, input, signal, untracked, viewChild } from "@angular/core";
import { LiveService } from "../core/live.service";
import { time } from "./format";

export interface LogLine {
  ts: number;
  level: string;
  msg: string;
  instance?: string;
  stream?: string;
}

const MAX_LINES = 20_000;
const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];

/**
 * A plugin's live log (the WebSocket's logs topic, which first replays the last lines): a
 * virtualised list, so a burst of 10,000 lines costs only the rows on screen; lines arriving in
 * one frame are added in one update. Level filter, search, follow.
 */
@Component({
  selector: "bkg-log-view",
  imports: [ScrollingModule],
  template: `
    <div class="mb-2 flex flex-wrap items-center gap-2 text-sm">
      <label class="sr-only" for="log-level">Lowest level</label>
      <select id="log-level" class="input w-28" (change)="minLevel.set($any($event.target).value)" data-testid="log-level">
        @for (l of levels; track l) { <option [value]="l" [selected]="l === minLevel()">{{ l }}+</option> }
      </select>
      <label class="sr-only" for="log-search">Search the log</label>
      <input id="log-search" class="input w-56" type="search" placeholder="Search…" (input)="query.set($any($event.target).value)" data-testid="log-search">
      <label class="flex items-center gap-1"><input type="checkbox" [checked]="follow()" (change)="follow.set($any($event.target).checked)"> follow</label>
      <button class="btn" type="button" (click)="lines.set([])">Clear</button>
      <span class="muted text-xs" data-testid="log-count">{{ shown().length }} of {{ lines().length }} lines</span>
    </div>
    <cdk-virtual-scroll-viewport itemSize="20" class="h-80 rounded-md border border-slate-200 bg-slate-950 font-mono text-xs text-slate-100 dark:border-slate-800" data-testid="log-view" tabindex="0" aria-label="Log lines">
      <div *cdkVirtualFor="let l of shown(); trackBy: trackIndex" class="flex h-5 gap-2 whitespace-pre px-2 leading-5" data-testid="log-line">
        <span class="text-slate-500">{{ time(l.ts) }}</span><span [class]="levelClass(l.level)">{{ l.level.padEnd(5) }}</span><span class="text-slate-400">{{ l.instance ?? "" }}</span><span class="truncate">{{ l.msg }}</span>
      </div>
      @if (lines().length === 0) { <p class="p-3 text-slate-400">No log lines yet. Lines appear here as the plugin writes them.</p> }
    </cdk-virtual-scroll-viewport>
  `,
})
export class LogViewComponent {
  readonly plugin = input.required<string>();
  readonly levels = LEVELS;
  readonly lines = signal<LogLine[]>([]);
  readonly minLevel = signal("debug");
  readonly query = signal("");
  readonly follow = signal(true);
  readonly time = time;
  private readonly viewport = viewChild.required(CdkVirtualScrollViewport);
  private pending: LogLine[] = [];
  private frame = 0;

  readonly shown = computed(() => {
    const min = Math.max(0, LEVELS.indexOf(this.minLevel()));
    const q = this.query().toLowerCase();
    return this.lines().filter((l) => levelIndex(l.level) >= min && (!q || l.msg.toLowerCase().includes(q) || (l.instance ?? "").toLowerCase().includes(q)));
  });

  constructor() {
    const live = inject(LiveService);
    const destroy = inject(DestroyRef);
    effect((onCleanup) => {
      const name = this.plugin();
      untracked(() => this.lines.set([]));
      const offLogs = live.watch("logs", name, (m) => this.add(m.payload as LogLine));
      // Lifecycle changes are in the replayed ring but arrive live on the status topic: shown the same way.
      const offStatus = live.watch("status", name, (m) => {
        const e = m.payload as { ts: number; plugin: string; state: string; reason?: string; instance?: string };
        this.add({ ts: e.ts, level: "info", msg: `${e.instance ?? e.plugin} ${e.state}${e.reason ? `: ${e.reason}` : ""}`, instance: e.instance, stream: "daemon" });
      });
      onCleanup(() => {
        offLogs();
        offStatus();
      });
    });
    effect(() => {
      const n = this.shown().length;
      if (this.follow() && n) queueMicrotask(() => this.viewport().scrollToIndex(n - 1));
    });
    destroy.onDestroy(() => cancelAnimationFrame(this.frame));
  }

  trackIndex = (i: number) => i;

  levelClass(level: string): string {
    const i = levelIndex(level);
    return i >= 4 ? "text-red-400" : i === 3 ? "text-amber-300" : i <= 1 ? "text-slate-500" : "text-sky-300";
  }

  private add(line: LogLine): void {
    this.pending.push(line);
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const batch = this.pending;
      this.pending = [];
      this.lines.update((all) => {
        const next = all.concat(batch);
        return next.length > MAX_LINES ? next.slice(next.length - MAX_LINES) : next;
      });
    });
  }
}

function levelIndex(level: string): number {
  const i = LEVELS.indexOf(level);
  return i < 0 ? 2 : i;
}
