/** bkg events: what happened, from the store (lifecycle, call errors, audit, plugin events, daemon notes). */
import type { Command } from "commander";
import type { StoredEvent } from "../store/index.js";
import { withClient, type GlobalOptions } from "./connect-daemon.js";
import { printTable } from "./output.js";

interface EventsOptions {
  plugin?: string;
  since: string;
  until?: string;
  kind?: string;
  node?: string;
  limit: string;
  json?: boolean;
}

export function registerEventsCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command("events")
    .description("stored events: lifecycle, call errors, audit, plugin events and the daemon's own notes")
    .option("-p, --plugin <name>", "only this plugin's events")
    .option("--since <when>", "from a duration back (90s, 15m, 1h, 7d) or an ISO time", "1h")
    .option("--until <when>", "up to a duration back or an ISO time")
    .option("-k, --kind <kinds>", "only these kinds, comma-separated: lifecycle, call-error, audit, plugin, daemon")
    .option("--node <id>", "only this daemon's events (in a cluster sharing one PostgreSQL)")
    .option("-n, --limit <n>", "at most this many (the newest)", "200")
    .option("--json", "print JSON lines, one event each")
    .action((o: EventsOptions) =>
      withClient(globals(), async (c) => {
        const events = await c.events({ plugin: o.plugin, since: o.since, until: o.until, kinds: o.kind, node: o.node, limit: Number(o.limit) });
        if (o.json) {
          for (const e of events) process.stdout.write(`${JSON.stringify(e)}\n`);
          return;
        }
        if (!events.length) return void process.stdout.write(`no events since ${o.since}${o.plugin ? ` for ${o.plugin}` : ""}\n`);
        const nodes = new Set(events.map((e) => e.nodeId));
        const head = ["TIME", ...(nodes.size > 1 ? ["NODE"] : []), "KIND", "PLUGIN", "WHAT", "MESSAGE"];
        printTable(
          head,
          events.map((e) => [time(e.ts), ...(nodes.size > 1 ? [e.nodeId] : []), e.kind, e.instance ?? e.plugin ?? "-", what(e), message(e)]),
          100,
        );
      }),
    );
}

function time(ts: number): string {
  const d = new Date(ts);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toTimeString().slice(0, 8) : d.toISOString().slice(0, 19).replace("T", " ");
}

function what(e: StoredEvent): string {
  if (e.kind === "call-error") return `${e.plugin}.${e.name} ${e.code}`;
  return e.name ?? "-";
}

function message(e: StoredEvent): string {
  if (e.message) return e.message;
  if (e.data !== undefined) return JSON.stringify(e.data);
  return "";
}
