/**
 * `bkg logs [NAME...]` (every plugin interleaved by time, like `pm2 logs`) and
 * `bkg plugins logs NAME`: recent lines from the daemon's per-plugin rings, then with -f new lines
 * as they come.
 */
import type { Command } from "commander";
import type { BkgClient } from "../client/index.js";
import type { BusEvent, LogEvent } from "../events/index.js";
import { withClient, type GlobalOptions } from "./connect-daemon.js";

interface LogsOptions {
  lines: string;
  follow?: boolean;
  json?: boolean;
}

export function registerLogsCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command("logs [names...]")
    .description("recent log lines of every plugin (or the ones named), interleaved by time; -f keeps following")
    .option("-n, --lines <n>", "how many lines (in all)", "200")
    .option("-f, --follow", "keep printing new lines until interrupted")
    .option("--json", "print JSON lines")
    .action((names: string[], o: LogsOptions) => withClient(globals(), (c) => showLogs(c, names, o)));
}

/** Prints the last `o.lines` lines of the named plugins (all when none is named), merged by time. */
export async function showLogs(c: BkgClient, names: string[], o: LogsOptions): Promise<void> {
  const limit = Math.max(1, Number(o.lines) || 200);
  const plugins = names.length ? names : (await c.plugins.list()).map((p) => p.name);
  const label = names.length !== 1;
  const show = (e: BusEvent) => process.stdout.write(`${o.json ? JSON.stringify(e) : formatLog(e as LogEvent, label)}\n`);
  const recent = (await Promise.all(plugins.map((name) => c.plugins.logs(name, limit)))).flat() as LogEvent[];
  // A stable sort keeps each plugin's own order for lines of the same millisecond.
  recent.sort((a, b) => a.ts - b.ts);
  for (const e of recent.slice(-limit)) show(e);
  if (!o.follow) return;
  const wanted = new Set(plugins);
  await c.subscribe({ topics: ["log"], ...(names.length === 1 ? { plugin: names[0] } : {}) }, (e) => {
    if (names.length === 0 || wanted.has((e as LogEvent).plugin)) show(e);
  });
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    c.onClose(resolve);
  });
}

/** One line per entry: time, level, the instance (when several plugins interleave), the message. */
export function formatLog(e: LogEvent, withPlugin: boolean): string {
  const t = new Date(e.ts).toISOString().slice(11, 23);
  const who = withPlugin ? `${e.instance ?? e.plugin} ` : e.instance ? `${e.instance.slice(e.plugin.length)} ` : "";
  // The daemon's own lines about a plugin begin with its name ("echo#2 ready: pid 7"): said once.
  const named = [e.instance, e.plugin].find((n) => n && e.msg.startsWith(`${n} `));
  const msg = (named ? e.msg.slice(named.length + 1) : e.msg).replace(/\r?\n/g, "\\n");
  return `${t} ${e.level.toUpperCase().padEnd(5)} ${who}${e.stream === "stderr" ? "stderr: " : ""}${msg}`;
}
