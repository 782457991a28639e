/** Human figures: bytes as MiB, durations, rates. */
export const bytes = (n?: number | null): string => (n === undefined || n === null ? "–" : n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : `${(n / (1 << 20)).toFixed(1)} MiB`);
export const ms = (n?: number | null): string => (n === undefined || n === null ? "–" : n < 1 ? `${(n * 1000).toFixed(0)} µs` : n < 1000 ? `${n.toFixed(1)} ms` : `${(n / 1000).toFixed(2)} s`);
export const rate = (n?: number | null): string => (n === undefined || n === null ? "–" : n.toFixed(n < 10 ? 1 : 0));
export const pct = (n?: number | null): string => (n === undefined || n === null ? "–" : `${n.toFixed(1)}%`);
export function duration(msTotal: number): string {
  const s = Math.floor(msTotal / 1000);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}
export const time = (ts: number): string => new Date(ts).toLocaleTimeString();
export const dateTime = (ts?: number | null): string => (ts ? new Date(ts).toLocaleString() : "–");

/** Tailwind classes for a plugin state's badge. */
export function stateClass(state: string): string {
  if (state === "ready") return "bg-emerald-100 text-emerald-800 dark:bg-emerald-900 dark:text-emerald-100";
  if (["crashed", "failed", "crashloop", "build-failed", "unresponsive", "invalid", "blocked"].includes(state)) return "bg-red-100 text-red-800 dark:bg-red-900 dark:text-red-100";
  if (["stopped", "disabled", "idle"].includes(state)) return "bg-slate-200 text-slate-700 dark:bg-slate-700 dark:text-slate-200";
  return "bg-amber-100 text-amber-800 dark:bg-amber-900 dark:text-amber-100";
}
