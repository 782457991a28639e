/**
 * Every process a benchmark starts goes through here, so that all of them (and whatever they
 * spawned) are killed at the end, on error, and on Ctrl-C. Also reads CPU time and RSS of any
 * process from /proc, so daemons we do not host can be measured.
 */
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

const tracked = new Set<ChildProcess>();
const cleanups: { what: string; fn: () => Promise<void> | void }[] = [];

/** Spawns a process and tracks it: cleanup() kills it and its descendants with SIGKILL. */
export function spawnTracked(file: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(file, args, { stdio: ["ignore", "ignore", "pipe"], ...opts });
  tracked.add(child);
  child.once("exit", () => tracked.delete(child));
  child.on("error", () => undefined);
  return child;
}

/** Registers a cleanup step (run last-registered first). Returns a function that runs it now, once. */
export function onCleanup(what: string, fn: () => Promise<void> | void): () => Promise<void> {
  const entry = { what, fn };
  cleanups.push(entry);
  return async () => {
    const i = cleanups.indexOf(entry);
    if (i < 0) return;
    cleanups.splice(i, 1);
    await entry.fn();
  };
}

/** Kills every tracked process tree and runs every cleanup step. Idempotent; never throws. */
export async function cleanupAll(): Promise<void> {
  while (cleanups.length) {
    const c = cleanups.pop()!;
    try {
      await withTimeout(Promise.resolve(c.fn()), 15_000, c.what);
    } catch (e) {
      process.stderr.write(`cleanup "${c.what}" failed: ${(e as Error).message}\n`);
    }
  }
  for (const child of [...tracked]) killTree(child.pid);
  tracked.clear();
}

/** SIGKILLs a process and every descendant (found through /proc before any is killed). */
export function killTree(pid: number | undefined): void {
  if (!pid) return;
  const all = [pid, ...descendants(pid)];
  for (const p of all) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

/** Pids of every live descendant of `pid`, from /proc/<n>/stat's ppid field. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of safeReaddir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st) parent.set(Number(name), st.ppid);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const [child, pp] of parent) {
      if (pp === p && !out.includes(child)) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Stat {
  ppid: number;
  /** user + system CPU time, in clock ticks */
  ticks: number;
}

let clkTck: number | undefined;
/** Clock ticks per second for /proc CPU times (getconf CLK_TCK; 100 on Linux in practice). */
export function clockTicks(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name may contain spaces and parentheses: fields start after the last ")".
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
  return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
}

/** CPU time (user + system) a live process has used, in µs; 0 when it is gone. 10 ms resolution. */
export function cpuMicros(pid: number): number {
  const st = readStat(pid);
  return st ? (st.ticks * 1e6) / clockTicks() : 0;
}

/** A "<field>: N kB" line of /proc/<pid>/status in bytes, or 0 when the process is gone. */
function statusBytes(pid: number, field: "VmRSS" | "RssAnon"): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident set size in bytes (VmRSS), or 0 when the process is gone. */
export function rssBytes(pid: number): number {
  return statusBytes(pid, "VmRSS");
}

/**
 * Private anonymous memory in bytes (RssAnon: the heap, stacks and malloc arenas; not the
 * binary's and shared libraries' file pages, which every Node process maps alike), or 0.
 */
export function rssAnonBytes(pid: number): number {
  return statusBytes(pid, "RssAnon");
}

/**
 * Resident bytes of the process's file mappings, summed per matcher (a mapping counts for the
 * first whose test its path passes), from one read of /proc/PID/smaps; zeros when it is gone.
 */
export function residentFileBytes<K extends string>(pid: number, matchers: Record<K, (path: string) => boolean>): Record<K, number> {
  const keys = Object.keys(matchers) as K[];
  const bytes = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, "utf8");
  } catch {
    return bytes;
  }
  let counting: K | undefined;
  for (const line of text.split("\n")) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) counting = mapping[1].startsWith("/") ? keys.find((k) => matchers[k](mapping[1])) : undefined;
    else if (counting && line.startsWith("Rss:")) bytes[counting] += Number(/(\d+)/.exec(line)?.[1] ?? 0) * 1024;
  }
  return bytes;
}

/** CPU µs of this process (user + system) via process.cpuUsage. */
export function selfCpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
      timer.unref();
    }),
  ]);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `pred` every `everyMs` until it is truthy; throws after `timeoutMs` naming `what`. */
export async function waitFor<T>(pred: () => Promise<T> | T, what: string, timeoutMs = 10_000, everyMs = 10): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Keeps the last `max` characters a stream printed, for error messages. */
export function tail(stream: NodeJS.ReadableStream | null | undefined, max = 4000): () => string {
  let buf = "";
  stream?.on("data", (d: Buffer) => {
    buf += d.toString();
    if (buf.length > max * 2) buf = buf.slice(-max);
  });
  return () => buf.slice(-max);
}
