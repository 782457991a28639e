import { Component, computed, input } from "@angular/core";

export interface Point {
  t: number;
  v: number;
}

/**
 * A small time-series chart (an SVG line over a fixed window, 15 minutes by default) with its
 * label and latest value: Grafana's stat-with-sparkline, without a chart library.
 */
@Component({
  selector: "bkg-sparkline",
  template: `
    <figure class="min-w-0">
      <figcaption class="flex items-baseline justify-between text-xs"><span class="muted">{{ label() }}</span><b>{{ latest() }}</b></figcaption>
      <svg [attr.viewBox]="'0 0 ' + W + ' ' + H" class="h-10 w-full text-indigo-500" preserveAspectRatio="none" role="img" [attr.aria-label]="label() + ' over the last ' + windowMin() + ' minutes: ' + latest()">
        @if (path()) {
          <path [attr.d]="area()" class="fill-indigo-500/10" />
          <path [attr.d]="path()" fill="none" stroke="currentColor" stroke-width="1.5" vector-effect="non-scaling-stroke" />
        } @else {
          <text [attr.x]="W / 2" [attr.y]="H / 2 + 4" text-anchor="middle" class="fill-slate-400 text-[10px]">no data yet</text>
        }
      </svg>
    </figure>
  `,
})
export class SparklineComponent {
  readonly W = 200;
  readonly H = 40;
  readonly label = input.required<string>();
  readonly points = input.required<Point[]>();
  readonly format = input<(v: number) => string>((v) => String(Math.round(v * 100) / 100));
  readonly windowMin = input(15);

  readonly latest = computed(() => {
    const p = this.points();
    return p.length ? this.format()(p[p.length - 1].v) : "–";
  });

  private readonly xy = computed(() => {
    const pts = this.points();
    if (pts.length === 0) return [];
    const end = Math.max(Date.now(), pts[pts.length - 1].t);
    const start = end - this.windowMin() * 60_000;
    const max = Math.max(...pts.map((p) => p.v), 1e-9);
    return pts.filter((p) => p.t >= start).map((p) => [((p.t - start) / (end - start)) * this.W, this.H - 2 - (p.v / max) * (this.H - 4)] as const);
  });

  readonly path = computed(() => {
    const xy = this.xy();
    if (xy.length === 0) return "";
    const pts = xy.length === 1 ? [[xy[0][0] - 2, xy[0][1]] as const, xy[0]] : xy;
    return pts.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  });
  readonly area = computed(() => {
    const xy = this.xy();
    if (xy.length === 0) return "";
    return `${this.path()} L${xy[xy.length - 1][0].toFixed(1)},${this.H} L${xy[0][0].toFixed(1)},${this.H} Z`;
  });
}
