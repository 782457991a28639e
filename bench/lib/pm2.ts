/**
 * pm2 as a peer: a private PM2_HOME under /tmp, its CLI run with that home, and a cleanup that
 * always kills its God daemon (pm2 kill, then SIGKILL of whatever still runs with our home in
 * its command line) and removes the folder. pm2's version check (a network call) is turned off.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./paths.js";
import { isAlive, killTree, onCleanup, rssBytes, sleep } from "./procs.js";

const PM2_BIN = join(ROOT, "node_modules", "pm2", "bin", "pm2");

export interface Pm2 {
  home: string;
  /** Runs the pm2 CLI with this home; rejects on a non-zero exit. */
  run(args: string[], timeoutMs?: number): Promise<string>;
  /** Starts apps from an ecosystem object (written to a JSON file). */
  start(apps: Record<string, unknown>[]): Promise<void>;
  /** The God daemon's pid, once it runs. */
  godPid(): number | undefined;
  godRss(): number;
  /** `pm2 jlist`: name, pid and status of every app. */
  list(): Promise<{ name: string; pid: number; status: string; restarts: number }[]>;
  /** Kills the God daemon and every app, removes the home. Idempotent. */
  kill(): Promise<void>;
}

export async function startPm2(): Promise<Pm2> {
  const home = mkdtempSync(join(tmpdir(), "bkg-bench-pm2-"));
  // Marks the first-run banner and its version check as done.
  writeFileSync(join(home, "touch"), String(Date.now()));
  const env = { ...process.env, PM2_HOME: home, PM2_DISCRETE_MODE: "true", PM2_DISABLE_VERSION_CHECK: "true" };
  const run = (args: string[], timeoutMs = 20_000) =>
    new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [PM2_BIN, ...args], { env, timeout: timeoutMs, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`pm2 ${args.join(" ")}: ${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
  const godPid = () => {
    try {
      const pid = Number(readFileSync(join(home, "pm2.pid"), "utf8").trim());
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  let killed = false;
  const kill = async () => {
    if (killed) return;
    killed = true;
    const god = godPid();
    try {
      await run(["kill"], 10_000);
    } catch {
      /* SIGKILL below */
    }
    for (const pid of [...(god ? [god] : []), ...processesMentioning(home)]) killTree(pid);
    for (let i = 0; i < 50 && god && isAlive(god); i++) await sleep(20);
    rmSync(home, { recursive: true, force: true });
  };
  onCleanup(`pm2 kill (${home})`, kill);
  return {
    home,
    run,
    async start(apps) {
      const file = join(home, "bench.ecosystem.json");
      writeFileSync(file, JSON.stringify({ apps }));
      await run(["start", file]);
    },
    godPid,
    godRss: () => {
      const p = godPid();
      return p ? rssBytes(p) : 0;
    },
    async list() {
      const out = await run(["jlist"]);
      const start = out.indexOf("[");
      const apps = JSON.parse(out.slice(start)) as { name: string; pid: number; pm2_env: { status: string; restart_time: number } }[];
      return apps.map((a) => ({ name: a.name, pid: a.pid, status: a.pm2_env.status, restarts: a.pm2_env.restart_time }));
    },
    kill,
  };
}

/** Pids whose command line or environment names `text` (pm2's God daemon shows its home in its title). */
function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").includes(text) || readFileSync(`/proc/${name}/environ`, "utf8").includes(`PM2_HOME=${text}`)) out.push(Number(name));
    } catch {
      /* gone or not ours */
    }
  }
  return out;
}
