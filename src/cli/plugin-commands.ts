import type { Command } from "commander";
import type { BusEvent, LogEvent } from "../events/index.js";
import type { PluginInfo } from "../supervisor/index.js";
import { withClient, type GlobalOptions } from "./connect-daemon.js";
import { duration, printJson, printTable } from "./output.js";

export function registerPluginCommands(program: Command, globals: () => GlobalOptions): void {
  const plugins = program.command("plugins").description("list, inspect and control plugins");

  plugins
    .command("list")
    .description("every plugin with its state (invalid and blocked ones too, with the reason)")
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
        printTable(
          ["NAME", "STATE", "VERSION", "INSTANCES", "PIDS", "RESTARTS", "REASON"],
          list.map((p) => [p.name, p.state, p.version ?? "-", p.instances.length, p.instances.map((i) => i.pid).join(",") || "-", p.restarts, p.problems?.length ? p.problems.map((x) => `${x.path || "/"} ${x.message}`).join("; ") : p.state === "ready" ? "" : (p.reason ?? "")]),
          90,
        );
      }),
    );

  plugins
    .command("info <name>")
    .description("state, instances, methods, manifest and the last crash of one plugin")
    .option("--json", "print JSON")
    .option("--show-secrets", "show the manifest's env values and secret config unredacted")
    .action((name: string, o: { json?: boolean; showSecrets?: boolean }) =>
      withClient(globals(), async (c) => {
        const info = await c.plugins.info(name, { secrets: o.showSecrets === true });
        if (o.json) return printJson(info);
        printInfo(info);
      }),
    );

  for (const [verb, what] of [
    ["start", "start a stopped plugin (clears a crash loop or failure)"],
    ["stop", "stop a plugin gracefully (it stays stopped until started)"],
    ["reload", "hot-swap a plugin: start the new instance, switch, drain the old"],
  ] as const) {
    plugins
      .command(`${verb} <name>`)
      .description(what)
      .option("--json", "print JSON")
      .action((name: string, o: { json?: boolean }) =>
        withClient(globals(), async (c) => {
          const r = await c.plugins[verb](name);
          if (o.json) return printJson(r);
          process.stdout.write(`${r.name}: ${r.state}${"reason" in r && r.reason ? ` (${r.reason})` : ""}\n`);
        }),
      );
  }

  plugins
    .command("logs <name>")
    .description("recent log lines of a plugin (stderr, bkg/log and the daemon's notes about it)")
    .option("-n, --lines <n>", "how many lines", "200")
    .option("-f, --follow", "keep printing new lines until interrupted")
    .option("--json", "print JSON lines")
    .action((name: string, o: { lines: string; follow?: boolean; json?: boolean }) =>
      withClient(globals(), async (c) => {
        const show = (e: BusEvent) => process.stdout.write((o.json ? JSON.stringify(e) : formatLog(e as LogEvent)) + "\n");
        for (const e of await c.plugins.logs(name, Number(o.lines))) show(e);
        if (!o.follow) return;
        await c.subscribe({ topics: ["log"], plugin: name }, show);
        await new Promise<void>((resolve) => {
          process.once("SIGINT", resolve);
          c.onClose(resolve);
        });
      }),
    );
}

function formatLog(e: LogEvent): string {
  const t = new Date(e.ts).toISOString().slice(11, 23);
  return `${t} ${e.level.toUpperCase().padEnd(5)} ${e.instance ?? e.plugin} ${e.stream === "stderr" ? "stderr: " : ""}${e.msg}`;
}

function printInfo(p: PluginInfo): void {
  const line = (k: string, v: unknown) => process.stdout.write(`${k.padEnd(12)} ${v}\n`);
  line("name", p.name);
  line("state", p.state + (p.reason ? ` (${p.reason})` : ""));
  line("version", p.version ?? "-");
  line("manifest", p.file);
  if (p.description) line("description", p.description);
  line("restarts", p.restarts);
  if (p.memory) line("memory", p.memory);
  for (const pr of p.problems ?? []) line("problem", `${pr.path || "/"} ${pr.message}`);
  for (const i of p.instances) {
    const usage = i.rssBytes !== undefined ? `, ${Math.round(i.rssBytes / 1048576)} MiB, ${Math.round((i.cpu ?? 0) * 100)}% cpu` : "";
    line("instance", `${i.id} pid ${i.pid ?? "-"} ${i.state}, ${i.inflight} in flight, ${i.calls} calls, up ${duration(i.uptimeMs)}${usage}`);
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
