/** How `bkg plugins list`, `info` and `status` show a plugin to a person. */
import type { PluginInfo, PluginSummary } from "../supervisor/index.js";
import { duration } from "./output.js";

/** "previous version 1.0.0 serving: swap to 1.0.1 failed 12s ago: SyntaxError ..." (`full`: the whole message). */
export function swapFailureText(p: PluginSummary, full = false, now = Date.now()): string | undefined {
  const f = p.swapFailure;
  if (!f) return undefined;
  return `previous version ${f.previousVersion} serving: swap to ${f.version} failed ${duration(now - Date.parse(f.at))} ago: ${full ? f.message : (f.headline ?? f.message)}`;
}

/** The REASON cell: manifest problems, a failed swap, or why a plugin is not ready. */
export function reasonText(p: PluginSummary): string {
  if (p.problems?.length) return p.problems.map((x) => `${x.path || "/"} ${x.message}`).join("; ");
  if (p.build && (p.state === "building" || p.state === "build-failed" || p.build.state === "failed")) return p.build.progress;
  return swapFailureText(p) ?? (p.state === "ready" ? "" : (p.reason ?? ""));
}

/** The sums over a plugin's instances that a list row shows: CPU, RSS and the oldest uptime. */
export function usage(p: PluginSummary): { cpu: string; rss: string; uptime: string } {
  const live = p.instances.filter((i) => i.pid !== undefined);
  if (!live.length) return { cpu: "-", rss: "-", uptime: "-" };
  const sampled = live.filter((i) => i.rssBytes !== undefined);
  const cpu = sampled.reduce((n, i) => n + (i.cpu ?? 0), 0);
  const rss = sampled.reduce((n, i) => n + (i.rssBytes ?? 0), 0);
  return {
    cpu: sampled.length ? `${Math.round(cpu * 100)}%` : "-",
    rss: sampled.length ? `${(rss / 1048576).toFixed(1)} MiB` : "-",
    uptime: duration(Math.max(...live.map((i) => i.uptimeMs))),
  };
}

export function listRow(p: PluginSummary): (string | number)[] {
  const u = usage(p);
  return [p.name, p.state, p.version ?? "-", p.instances.length, p.instances.map((i) => i.pid).join(",") || "-", u.cpu, u.rss, u.uptime, p.restarts, reasonText(p)];
}

export const LIST_HEADERS = ["NAME", "STATE", "VERSION", "INSTANCES", "PIDS", "CPU", "RSS", "UPTIME", "RESTARTS", "REASON"];

export function printInfo(p: PluginInfo): void {
  const line = (k: string, v: unknown) => process.stdout.write(`${k.padEnd(12)} ${v}\n`);
  line("name", p.name);
  line("state", p.state + (p.reason ? ` (${p.reason})` : ""));
  const swap = swapFailureText(p, true);
  if (swap) line("last swap", swap);
  line("version", p.version ?? "-");
  line("manifest", p.file);
  if (p.description) line("description", p.description);
  line("restarts", p.restarts);
  if (p.memory) line("memory", p.memory);
  if (p.build) {
    line("build", p.build.progress);
    if (p.build.reason) line("build why", p.build.reason);
    if (p.build.tail?.length) {
      process.stdout.write(`last ${p.build.tail.length} lines of the build's output:\n`);
      for (const l of p.build.tail) process.stdout.write(`  | ${l}\n`);
    }
  }
  for (const pr of p.problems ?? []) line("problem", `${pr.path || "/"} ${pr.message}`);
  for (const i of p.instances) {
    const use = i.rssBytes !== undefined ? `, ${Math.round(i.rssBytes / 1048576)} MiB, ${Math.round((i.cpu ?? 0) * 100)}% cpu` : "";
    line("instance", `${i.id} pid ${i.pid ?? "-"} ${i.state}, ${i.inflight} in flight, ${i.calls} calls, up ${duration(i.uptimeMs)}${use}`);
  }
  for (const m of p.methods) line("method", `${p.name}.${m.name}${m.streaming ? " (streaming)" : ""}${m.description ? ` — ${m.description}` : ""}`);
  const x = p.lastExit;
  if (x) {
    line("last exit", `${x.instance} ${x.reason} after ${duration(x.uptimeMs)}, at ${new Date(x.at).toISOString()}`);
    if (x.nextRetryAt && x.nextRetryAt > Date.now()) line("next retry", new Date(x.nextRetryAt).toISOString());
    if (x.stderrTail.length) {
      process.stdout.write(`last stderr lines:\n`);
      for (const l of x.stderrTail) process.stdout.write(`  | ${l}\n`);
    }
  }
}
