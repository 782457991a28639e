import type { Command } from "commander";
import type { ControlOutcome } from "../client/index.js";
import { withClient, type GlobalOptions } from "./connect-daemon.js";
import { showLogs } from "./logs-command.js";
import { CliExit, EXIT, printJson, printTable } from "./output.js";
import { LIST_HEADERS, listRow, printInfo } from "./plugin-view.js";

type Verb = "start" | "stop" | "restart" | "reload";
interface ControlFlags {
  json?: boolean;
  wait: boolean;
  timeout: string;
  all?: boolean;
}

const VERBS: [Verb, string][] = [
  ["start", "start a stopped plugin (clears a crash loop or failure) and wait until it is ready"],
  ["stop", "stop a plugin gracefully (it stays stopped until started) and wait until it has"],
  ["restart", "stop, then start a plugin (new processes, same manifest), and wait until it is ready"],
  ["reload", "hot-swap a plugin: start the new instance, switch, drain the old; fails if the old version kept serving"],
];

export function registerPluginCommands(program: Command, globals: () => GlobalOptions): void {
  const plugins = program.command("plugins").description("list, inspect and control plugins");

  plugins
    .command("list")
    .description("every plugin with its state, CPU, memory, uptime and restarts (invalid and blocked ones too, with the reason)")
    .option("--json", "print JSON")
    .option("--cluster", "every node's plugins, as this daemon hears them on the cluster bus (cluster mode)")
    .action((o: { json?: boolean; cluster?: boolean }) =>
      withClient(globals(), async (c) => {
        if (o.cluster) {
          const rows = await c.cluster.plugins();
          if (o.json) return printJson(rows);
          return printTable(
            ["NODE", "NAME", "STATE", "VERSION"],
            rows.map((r) => [r.self ? `${r.node} (this)` : r.node, r.name, r.state, r.version ?? "-"]),
            90,
          );
        }
        const list = await c.plugins.list();
        if (o.json) return printJson(list);
        if (!list.length) return void process.stdout.write("no plugins (add a manifest to the manifests folder)\n");
        printTable(LIST_HEADERS, list.map(listRow), 90);
      }),
    );

  plugins
    .command("info <name>")
    .description("state, instances, methods, manifest, the last failed swap and the last crash of one plugin")
    .option("--json", "print JSON")
    .option("--show-secrets", "show the manifest's env values and secret config unredacted")
    .action((name: string, o: { json?: boolean; showSecrets?: boolean }) =>
      withClient(globals(), async (c) => {
        const info = await c.plugins.info(name, { secrets: o.showSecrets === true });
        if (o.json) return printJson(info);
        printInfo(info);
      }),
    );

  for (const [verb, what] of VERBS) {
    const cmd = plugins
      .command(`${verb} [name]`)
      .description(what)
      .option("--no-wait", "answer at once instead of waiting for the outcome")
      .option("--timeout <ms>", "how long to wait for the outcome", "60000")
      .option("--json", "print JSON");
    if (verb === "restart" || verb === "stop" || verb === "start") cmd.option("--all", `${verb} every plugin`);
    cmd.action((name: string | undefined, o: ControlFlags) => control(globals, verb, name, o));
  }

  plugins
    .command("logs <name>")
    .description("recent log lines of a plugin (stderr, bkg/log and the daemon's notes about it); see also bkg logs")
    .option("-n, --lines <n>", "how many lines", "200")
    .option("-f, --follow", "keep printing new lines until interrupted")
    .option("--json", "print JSON lines")
    .action((name: string, o: { lines: string; follow?: boolean; json?: boolean }) => withClient(globals(), (c) => showLogs(c, [name], o)));
}

/** Runs one verb on one plugin (or all), prints each outcome, and fails when one did not get there. */
async function control(globals: () => GlobalOptions, verb: Verb, name: string | undefined, o: ControlFlags): Promise<void> {
  if (!name && !o.all) throw new CliExit(EXIT.usage, `bkg: plugins ${verb} needs a plugin name${verb === "reload" ? "" : " or --all"} (see bkg plugins list)`);
  if (name && o.all) throw new CliExit(EXIT.usage, `bkg: plugins ${verb}: give a name or --all, not both`);
  const timeoutMs = Number(o.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new CliExit(EXIT.usage, `bkg: --timeout must be a positive number of milliseconds, got "${o.timeout}"`);
  await withClient(globals(), async (c) => {
    const names = name ? [name] : (await c.plugins.list()).map((p) => p.name);
    const results: ControlOutcome[] = [];
    for (const n of names) {
      const r = await c.plugins[verb](n, { wait: o.wait, timeoutMs });
      results.push(r);
      if (!o.json) process.stdout.write(`${describeOutcome(verb, r, o.wait)}\n`);
    }
    if (o.json) printJson(name ? results[0] : results);
    const failed = o.wait ? results.filter((r) => !r.ok) : [];
    if (failed.length) throw new CliExit(EXIT.error, `bkg: ${verb} failed for ${failed.map((r) => r.name).join(", ")} (bkg plugins info NAME says why)`);
  });
}

function describeOutcome(verb: Verb, r: ControlOutcome & { swapFailure?: string }, waited: boolean): string {
  const why = r.swapFailure ?? r.reason;
  const tail = why ? ` (${why})` : "";
  if (!waited) return `${r.name}: ${r.state}${tail}`;
  if (!r.settled) return `${r.name}: still ${r.state} when the wait ended${tail}`;
  return `${r.name}: ${r.ok ? "" : `${verb} failed, `}${r.state}${tail}`;
}
