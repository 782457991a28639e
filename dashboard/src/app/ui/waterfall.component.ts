import { Component, ElementRef, computed, input, output, viewChildren } from "@angular/core";
import { axisTicks, durationLabelAt, outcomeClass, type Waterfall, type WaterfallRow } from "../core/waterfall";
import { ms } from "./format";

/**
 * A trace as a waterfall (Jaeger's and Zipkin's timeline): one row per span, its name indented
 * under its parent, its bar placed by start and duration on a shared time axis and coloured by
 * outcome (the outcome is also written out: colour is never the only sign), the queued part of a
 * call lighter. Each row is a button: click or Enter selects it (the page shows the span's details
 * beside), ↑/↓/Home/End move between rows; hovering shows a summary.
 */
@Component({
  selector: "bkg-waterfall",
  template: `
    <div class="min-w-0 text-sm" data-testid="waterfall">
      <div class="flex items-end" aria-hidden="true">
        <div class="w-72 shrink-0 pb-1 text-xs font-semibold uppercase text-slate-500 dark:text-slate-400">span</div>
        <div class="relative h-5 min-w-0 flex-1 border-b border-slate-200 dark:border-slate-700">
          @for (tick of ticks(); track tick.ms) {
            <span class="muted absolute bottom-0.5 whitespace-nowrap text-[10px]" [style.left.%]="tick.pct" [class.-translate-x-full]="tick.pct > 90" [class.-translate-x-1/2]="tick.pct > 0 && tick.pct <= 90">{{ tickLabel(tick.ms) }}</span>
          }
        </div>
      </div>
      <ol class="relative" aria-label="Spans, parents above their children">
        @for (r of waterfall().rows; track r.span.spanId; let i = $index) {
          <li class="flex items-center" [attr.data-testid]="'span-row'" [attr.data-span-id]="r.span.spanId" [attr.data-depth]="r.depth" [attr.data-outcome]="r.span.outcome">
            <button #row type="button" class="flex w-full items-center rounded py-1 text-left hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-500 aria-pressed:bg-indigo-50 dark:hover:bg-slate-800 dark:aria-pressed:bg-indigo-950"
              [attr.aria-pressed]="r.span.spanId === selected()" [attr.aria-label]="labelOf(r)" [title]="labelOf(r)"
              (click)="select.emit(r.span.spanId)" (keydown)="move($event, i)">
              <span class="flex w-72 shrink-0 items-center gap-1 truncate pr-2" [style.padding-left.rem]="indentOf(r)">
                @if (r.depth > 0) { <span class="muted" aria-hidden="true">└</span> }
                <span class="truncate font-mono text-xs" data-testid="span-name">{{ r.span.name }}</span>
                @if (r.orphan) { <span class="muted shrink-0 text-[10px]" aria-hidden="true">(parent elsewhere)</span> }
                @if (r.span.outcome !== "ok") { <span class="badge shrink-0 text-white {{ outcomeClass(r.span.outcome) }}">{{ r.span.outcome }}</span> }
              </span>
              <span class="relative h-4 min-w-0 flex-1 rounded-sm bg-slate-50 dark:bg-slate-800/50">
                <span class="absolute inset-y-0 flex overflow-hidden rounded-sm {{ outcomeClass(r.span.outcome) }}" data-testid="span-bar" [style.left.%]="r.leftPct" [style.width.%]="r.widthPct">
                  @if (r.queuePct > 0) { <span class="h-full bg-white/50" [style.width.%]="r.queuePct"></span> }
                </span>
                @let at = labelAt(r);
                <span class="absolute top-0 whitespace-nowrap px-1 text-[10px] leading-4" data-testid="span-duration" [style.left.%]="at.pct" [class.-translate-x-full]="at.place !== 'after'"
                  [class.text-white]="at.place === 'inside'" [class.font-semibold]="at.place === 'inside'" [class.muted]="at.place !== 'inside'">{{ ms(r.span.durationMs) }}</span>
              </span>
            </button>
          </li>
        }
      </ol>
    </div>
  `,
})
export class WaterfallComponent {
  readonly waterfall = input.required<Waterfall>();
  readonly selected = input<string | null>(null);
  readonly select = output<string>();
  readonly ticks = computed(() => axisTicks(this.waterfall().totalMs));
  readonly outcomeClass = outcomeClass;
  readonly ms = ms;
  private readonly rows = viewChildren<ElementRef<HTMLButtonElement>>("row");

  /** Deep traces keep their names readable: the indent stops growing after 10 levels. */
  indentOf(r: WaterfallRow): number {
    return Math.min(r.depth, 10) * 1;
  }

  readonly labelAt = durationLabelAt;

  /** Axis labels: "0" rather than "0 µs" at the origin. */
  tickLabel(v: number): string {
    return v === 0 ? "0" : ms(v);
  }

  labelOf(r: WaterfallRow): string {
    const s = r.span;
    const parts = [
      `${s.name}: ${s.outcome}${s.errorCode !== undefined ? ` (error ${s.errorCode})` : ""}`,
      `${ms(s.durationMs)}, starts at +${ms(r.offsetMs)}`,
      `queued ${ms(s.queueWaitMs)}`,
      `instance ${s.instance ?? "–"} on ${s.node}`,
      `called by ${s.caller}`,
    ];
    if (r.orphan) parts.push("its parent span is not in this trace");
    return parts.join("; ");
  }

  move(e: KeyboardEvent, i: number): void {
    const n = this.waterfall().rows.length;
    const to = e.key === "ArrowDown" ? i + 1 : e.key === "ArrowUp" ? i - 1 : e.key === "Home" ? 0 : e.key === "End" ? n - 1 : null;
    if (to === null || to < 0 || to >= n) return;
    e.preventDefault();
    this.rows()[to]?.nativeElement.focus();
    this.select.emit(this.waterfall().rows[to].span.spanId);
  }
}
