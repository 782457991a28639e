/**
 * A trace as a tree of spans for `bkg trace ID`: each span under its parent, with its duration,
 * outcome, instance, caller and its start relative to the trace's. Pure (text in, text out).
 */
import type { SpanView, TraceView } from "../tracing/index.js";

function ms(n: number): string {
  return n >= 100 ? `${n.toFixed(0)} ms` : n >= 10 ? `${n.toFixed(1)} ms` : `${n.toFixed(2)} ms`;
}

function line(s: SpanView, t0: number, showNode: boolean): string {
  const outcome = s.outcome === "ok" ? "ok" : `${s.outcome}${s.errorCode === undefined ? "" : ` ${s.errorCode}`}`;
  const parts = [s.name, ms(s.durationMs), outcome, `+${ms(s.startTime - t0)}`];
  if (s.queueWaitMs >= 0.01) parts.push(`queued ${ms(s.queueWaitMs)}`);
  if (s.instance) parts.push(s.instance);
  parts.push(`from ${s.caller}`);
  if (showNode) parts.push(`on ${s.node}`);
  return parts.join("  ");
}

/** The lines of a trace's tree. Spans whose parent is not in the trace are roots. */
export function traceTree(trace: TraceView): string[] {
  const spans = trace.spans;
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, SpanView[]>();
  const roots: SpanView[] = [];
  for (const s of spans) {
    if (s.parentSpanId && ids.has(s.parentSpanId)) {
      const list = children.get(s.parentSpanId) ?? [];
      list.push(s);
      children.set(s.parentSpanId, list);
    } else roots.push(s);
  }
  const t0 = Math.min(...spans.map((s) => s.startTime));
  const end = Math.max(...spans.map((s) => s.startTime + s.durationMs));
  const showNode = new Set(spans.map((s) => s.node)).size > 1;
  const out = [`trace ${trace.traceId}: ${spans.length} span${spans.length === 1 ? "" : "s"}, ${ms(end - t0)}${trace.droppedSpans ? ` (${trace.droppedSpans} more not kept)` : ""}`];
  const walk = (s: SpanView, prefix: string, last: boolean, top: boolean) => {
    out.push(`${prefix}${top ? "" : last ? "└─ " : "├─ "}${line(s, t0, showNode)}`);
    const kids = children.get(s.spanId) ?? [];
    const next = top ? prefix : `${prefix}${last ? "   " : "│  "}`;
    kids.forEach((k, i) => walk(k, next, i === kids.length - 1, false));
  };
  for (const r of roots) walk(r, "", true, true);
  return out;
}
