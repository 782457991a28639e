/**
 * bkg dev [PATH] [--keep]: runs the plugin in PATH on a daemon (starting one in the background
 * when none answers), hot-swapped on every save through its manifest's `watch` globs, and
 * streams its logs and state changes here until Ctrl-C, which detaches it again.
 * See src/scaffold/dev-manifest.ts for where the manifest comes from.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, unwatchFile, watchFile, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { Command } from "commander";
import { connect, type BkgClient } from "../client/index.js";
import type { BusEvent } from "../events/index.js";
import type { PluginSummary } from "../supervisor/index.js";
import { isAlive } from "../gateway/socket-probe.js";
import { devManifest, DevError, findDevManifest, pluginDirOf, type DevSource } from "../scaffold/dev-manifest.js";
import { json } from "../scaffold/scaffold.js";
import { configOrExit, type GlobalOptions } from "./connect-daemon.js";
import { CliExit, EXIT } from "./output.js";
import { BKG_BIN } from "../package-root.js";

/** States after which the plugin will not become ready without a change. */
const SETTLED = new Set(["ready", "failed", "build-failed", "invalid", "crashloop", "blocked", "disabled", "stopped"]);

export function registerDevCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command("dev [path]")
    .description(
      "run the plugin in PATH (default: .) on a daemon, starting one in the background if none runs; every save hot-swaps it " +
        'and its logs stream here until Ctrl-C, which detaches it. The manifest comes from PATH/bkg.plugin.json, the "bkg" ' +
        "field of PATH/package.json, or a manifest in the manifests folder whose cwd is PATH",
    )
    .option("--keep", "leave the plugin attached (its manifest in the manifests folder) after Ctrl-C")
    .action(async (path: string | undefined, o: { keep?: boolean }) => {
      const g = globals();
      const config = configOrExit(g);
      let source: DevSource;
      try {
        source = findDevManifest(path ?? ".", config.manifestsDir);
      } catch (e) {
        if (e instanceof DevError) throw new CliExit(EXIT.error, `bkg dev: ${e.message}`);
        throw e;
      }
      const name = source.name;
      const target = join(config.manifestsDir, `${name}.json`);
      const pluginDir = pluginDirOf(source.from, source.manifest);
      let previous: string | undefined; // the target's content before dev wrote it, restored on exit
      if (source.kind === "manifest" && existsSync(target)) {
        previous = readFileSync(target, "utf8");
        let other: string | undefined;
        try {
          other = pluginDirOf(target, JSON.parse(previous));
        } catch {
          other = undefined;
        }
        if (other !== pluginDir) {
          throw new CliExit(EXIT.error, `bkg dev: ${show(target)} already exists for another plugin folder (${other ?? "unreadable"}): rename ${name} or remove that manifest`);
        }
      }

      await ensureDaemon(config.socketPath, config.dataDir, g);
      const client = await connect({ socketPath: config.socketPath }).catch((e: Error) => {
        throw new CliExit(EXIT.error, `bkg dev: cannot reach the daemon at ${config.socketPath}: ${e.message}`);
      });
      const say = (s: string) => process.stdout.write(`bkg dev: ${s}\n`);
      let stopping = false;
      const settled = settledReporter(client, name, say);
      await client.subscribe({ topics: ["log", "lifecycle"], plugin: name }, (e) => {
        process.stdout.write(`${formatEvent(e)}\n`);
        if (e.kind === "lifecycle" && e.instance === undefined && SETTLED.has(e.state)) void settled.check(true);
      });

      const attachedBefore = source.kind === "installed";
      if (source.kind === "manifest") {
        const from = source.from;
        writeFileSync(target, json(devManifest(source, pluginDir)));
        say(`${name} from ${show(from)}, attached as ${show(target)}${previous !== undefined ? " (updated)" : ""}`);
        // An edit of the plugin's own manifest updates the attached one (the daemon then hot-swaps).
        watchFile(from, { interval: 300 }, async (cur, prev) => {
          if (cur.mtimeMs === prev.mtimeMs || stopping) return;
          try {
            const next = findDevManifest(from, config.manifestsDir);
            if (next.name !== name) return say(`${show(from)} now names ${next.name}; restart bkg dev to attach it under that name`);
            await settled.reset(); // before the write: what the daemon says until it has seen the change is stale
            writeFileSync(target, json(devManifest(next, pluginDirOf(next.from, next.manifest))));
            say(`${show(from)} changed: ${show(target)} updated`);
          } catch (e) {
            say(`${show(from)} changed but cannot be read: ${(e as Error).message}`);
          }
        });
      } else {
        say(`${name} is attached already by ${show(source.from)}; following it`);
      }
      say(`a save of ${describeWatch(source, pluginDir)} hot-swaps it; Ctrl-C ${o.keep || attachedBefore ? "stops following (it stays attached)" : "detaches it"}`);

      const detach = async (why: string, code: number) => {
        if (stopping) return;
        stopping = true;
        if (source.kind === "manifest") unwatchFile(source.from);
        try {
          if (source.kind === "manifest" && !o.keep) {
            if (previous !== undefined) writeFileSync(target, previous);
            else rmSync(target, { force: true });
            if (previous === undefined) await waitGone(client, name, 15_000);
            say(`${why}: ${name} detached${previous !== undefined ? ` (${show(target)} restored)` : ` (${show(target)} removed)`}`);
          } else say(`${why}: ${name} stays attached (${show(target)})`);
        } finally {
          client.close();
          process.exit(code);
        }
      };
      const onSignal = (sig: string) => {
        if (stopping) process.exit(130); // a second Ctrl-C: leave at once
        void detach(`${sig}`, 0);
      };
      process.on("SIGINT", () => onSignal("interrupted"));
      process.on("SIGTERM", () => onSignal("terminated"));
      client.onClose(() => {
        if (stopping) return;
        stopping = true;
        if (source.kind === "manifest" && !o.keep) {
          if (previous !== undefined) writeFileSync(target, previous);
          else rmSync(target, { force: true });
        }
        process.stderr.write(`bkg dev: the daemon went away; ${name}'s dev manifest was ${o.keep ? "kept" : "removed"}\n`);
        process.exit(EXIT.error);
      });

      await new Promise<never>(() => undefined); // until a signal or the daemon leaves
    });
}

/** Starts `bkg daemon start --detach` (same config) unless a daemon answers on the socket. */
async function ensureDaemon(socketPath: string, dataDir: string, g: GlobalOptions): Promise<void> {
  if (await isAlive(socketPath)) return;
  const args = [BKG_BIN, ...(g.config ? ["--config", g.config] : []), ...(g.socket ? ["--socket", g.socket] : []), "daemon", "start", "--detach"];
  const r = await new Promise<{ code: number | null; out: string }>((res) => {
    const p = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (code) => res({ code, out }));
  });
  if (r.code !== 0) throw new CliExit(EXIT.error, `bkg dev: no daemon was running and none could be started:\n${r.out.trim()}`);
  const pid = /pid (\d+)/.exec(r.out)?.[1] ?? "?";
  process.stdout.write(`bkg dev: started a daemon in the background (pid ${pid}, logs in ${show(join(dataDir, "logs", "daemon.log"))}); it keeps running after bkg dev ends: bkg daemon stop\n`);
}

/**
 * Prints, once the plugin has settled, its methods or why it is not ready: checked on the
 * plugin's lifecycle events and by polling (an invalid manifest has no lifecycle event).
 * `reset` starts over before the manifest is rewritten; until a lifecycle event arrives, the
 * state seen at the reset is taken as stale and not reported again.
 */
function settledReporter(client: BkgClient, name: string, say: (s: string) => void): { check(fromEvent?: boolean): Promise<void>; reset(): Promise<void> } {
  let done = false;
  let stale: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const current = async () => (await client.plugins.list().catch(() => [])).find((x) => x.name === name);
  const keyOf = (p: PluginSummary) => `${p.state}\0${p.reason ?? ""}\0${JSON.stringify(p.problems ?? [])}`;
  const poll = () => {
    clearInterval(timer);
    timer = setInterval(() => void check(), 300);
    timer.unref();
    void check();
  };
  const check = async (fromEvent = false) => {
    if (fromEvent) stale = undefined;
    if (done) return;
    const p = await current();
    if (done || !p || !SETTLED.has(p.state) || keyOf(p) === stale) return;
    done = true;
    clearInterval(timer);
    if (p.state === "ready") {
      const info = await client.plugins.info(name).catch(() => undefined);
      const methods = info?.methods.map((m) => `${name}.${m.name}`) ?? [];
      say(`${name} is ready${methods.length ? `: ${methods.join(", ")}` : ""}`);
      if (methods.length) say(`try: bkg call ${methods[0]} '{}'`);
    } else {
      const why = p.problems?.length ? p.problems.map((x) => `${x.path || "/"} ${x.message}`).join("; ") : (p.reason ?? "");
      say(`${name} is ${p.state}${why ? `: ${why}` : ""}; fix it and save, or Ctrl-C`);
    }
  };
  poll();
  return {
    check,
    reset: async () => {
      const p = await current();
      stale = p ? keyOf(p) : undefined;
      done = false;
      poll();
    },
  };
}

async function waitGone(client: BkgClient, name: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const list = await client.plugins.list().catch(() => undefined);
    if (!list?.some((p) => p.name === name)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function describeWatch(source: DevSource, pluginDir: string): string {
  const m = source.kind === "manifest" ? devManifest(source, pluginDir) : source.manifest;
  const w = Array.isArray(m.watch) ? (m.watch as string[]) : [];
  return w.length ? `${w.join(", ")} (in ${show(pluginDir)})` : "nothing (the manifest has no watch globs)";
}

function formatEvent(e: BusEvent): string {
  const t = new Date(e.ts).toISOString().slice(11, 23);
  if (e.kind === "lifecycle") return `${t} ----- ${e.instance ?? e.plugin} ${e.state}${e.reason ? `: ${e.reason}` : ""}`;
  if (e.kind === "log") {
    const fields = e.fields && Object.keys(e.fields).length ? ` ${JSON.stringify(e.fields)}` : "";
    return `${t} ${e.level.toUpperCase().padEnd(5)} ${e.instance ?? e.plugin} ${e.stream === "stderr" ? "stderr: " : ""}${e.msg}${fields}`;
  }
  return `${t} ${JSON.stringify(e)}`;
}

function show(p: string): string {
  const r = relative(process.cwd(), resolve(p));
  return r === "" ? "." : r.startsWith("..") ? p : r;
}
