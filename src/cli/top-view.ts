/** Renders a live snapshot as the lines `bkg top` shows: pure, so a test can check it. */
import type { LiveSnapshot } from "../telemetry/index.js";
import { duration } from "./output.js";

const mib = (b?: number) => (b === undefined ? "-" : `${(b / 1048576).toFixed(b < 10 * 1048576 ? 1 : 0)}M`);
const pct = (p?: number) => (p === undefined ? "-" : `${p.toFixed(p < 10 ? 1 : 0)}%`);
const ms = (v?: number) => (v === undefined ? "-" : v < 1 ? `${(v * 1000).toFixed(0)}µs` : v < 100 ? `${v.toFixed(1)}ms` : v < 10_000 ? `${v.toFixed(0)}ms` : `${(v / 1000).toFixed(1)}s`);
const rate = (r: number) => (r >= 100 ? r.toFixed(0) : r.toFixed(1));

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ")
      .trimEnd(),
  );
}

/** The screen: a header with the daemon's figures, a row per plugin, and its instances indented below. */
export function renderTop(s: LiveSnapshot, width = 120): string[] {
  const t = s.telemetry;
  const lines = [
    `bkg ${s.version}  node ${s.nodeId}  pid ${s.pid}  up ${duration(s.uptimeMs)}  rss ${mib(s.rssBytes)}  cpu ${pct(s.cpuPct)}  ${new Date(s.ts).toTimeString().slice(0, 8)}`,
    `store ${t.driver} ${t.location}  ${t.enabled ? `telemetry on, flush every ${duration(t.flushMs)}` : "telemetry OFF (telemetry.enabled: false)"}${t.lastError ? `  STORE ERROR: ${t.lastError}` : ""}`,
    "",
  ];
  const rows: string[][] = [["PLUGIN", "STATE", "INST", "INFLIGHT", "QUEUED", "CALLS/S", "P50", "P99", "ERR/S", "ERRORS", "CALLS", "RSS", "CPU", "RESTARTS"]];
  for (const p of s.plugins) {
    rows.push([
      p.name,
      p.state,
      String(p.instances.length),
      String(p.inflight),
      String(p.queued),
      rate(p.ratePerSec),
      ms(p.p50),
      ms(p.p99),
      rate(p.errorsPerSec),
      String(p.errors),
      String(p.calls),
      mib(p.rssBytes),
      pct(p.cpuPct),
      String(p.restarts),
    ]);
    for (const i of p.instances) {
      rows.push([`  ${i.id}`, i.state, i.pid ? `pid ${i.pid}` : "-", String(i.inflight), "", "", "", "", "", "", "", mib(i.rssBytes), pct(i.cpuPct), `up ${duration(i.uptimeMs)}`]);
    }
  }
  if (s.plugins.length === 0) lines.push("no plugins (add a manifest to the manifests folder)");
  else lines.push(...table(rows).map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l)));
  if (s.tokens?.length) {
    const tokenRows = [["KEY", "MODEL", "REQUESTS", "PROMPT TOKENS", "COMPLETION TOKENS", "LAST"]];
    for (const r of s.tokens) tokenRows.push([r.key, r.model, String(r.requests), String(r.promptTokens), String(r.completionTokens), `${duration(Math.max(0, s.ts - r.lastAt))} ago`]);
    lines.push("", "TOKENS (/v1, since the daemon started)", ...table(tokenRows).map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l)));
  }
  lines.push("", `rates and percentiles over the last ${duration(s.windowMs)}`);
  return lines;
}
