/**
 * RSS and CPU of each plugin instance's process tree, read from /proc. A plugin runs as the
 * leader of its own process group, so its group is its tree (children and grandchildren
 * included). One pass over /proc serves every instance. Linux only: elsewhere every figure is
 * absent and nothing fails.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcUsage {
  rssBytes: number;
  /** CPU over the interval since the previous sample, in percent of one core. */
  cpuPct: number;
  /** How many processes the group has. */
  processes: number;
  /** CPU time of the group's live processes, seconds (utime + stime). */
  cpuSeconds: number;
}

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux port in use. */
const TICKS_PER_SECOND = 100;

/** The page size, found by comparing /proc/self/statm with what Node reports (no syscall API for it). */
function pageSize(): number {
  try {
    const pages = Number(readFileSync("/proc/self/statm", "latin1").split(" ")[1]);
    const rss = process.memoryUsage.rss();
    const guess = rss / pages;
    for (const size of [4096, 16384, 65536]) if (Math.abs(guess - size) / size < 0.25) return size;
  } catch {
    /* not Linux */
  }
  return 4096;
}

export class ProcessStats {
  private readonly page = pageSize();
  private readonly prevTicks = new Map<number, { ticks: number; at: number }>();
  private last?: { at: number; usage: Map<number, ProcUsage> };

  /** @param minIntervalMs a sample younger than this is returned again instead of re-reading /proc. */
  constructor(private readonly minIntervalMs = 1000) {}

  /** Usage of the process groups led by `leaders` (plugin pids). */
  sample(leaders: readonly number[], now = Date.now()): Map<number, ProcUsage> {
    if (this.last && now - this.last.at < this.minIntervalMs && leaders.every((p) => this.last!.usage.has(p))) return this.last.usage;
    const wanted = new Set(leaders);
    const groups = new Map<number, { rss: number; ticks: number; n: number }>();
    if (wanted.size) {
      let entries: string[] = [];
      try {
        entries = readdirSync("/proc");
      } catch {
        /* not Linux */
      }
      for (const name of entries) {
        const c = name.charCodeAt(0);
        if (c < 48 || c > 57) continue;
        let stat: string;
        try {
          stat = readFileSync(`/proc/${name}/stat`, "latin1");
        } catch {
          continue; // gone since readdir
        }
        // Fields after the command name, which may itself contain spaces and parentheses.
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const pgrp = Number(f[2]);
        if (!wanted.has(pgrp)) continue;
        let g = groups.get(pgrp);
        if (!g) groups.set(pgrp, (g = { rss: 0, ticks: 0, n: 0 }));
        g.rss += Number(f[21]) * this.page;
        g.ticks += Number(f[11]) + Number(f[12]);
        g.n++;
      }
    }
    const usage = new Map<number, ProcUsage>();
    for (const [pid, g] of groups) {
      const prev = this.prevTicks.get(pid);
      const seconds = prev ? (now - prev.at) / 1000 : 0;
      const cpuPct = prev && seconds > 0 ? Math.max(0, ((g.ticks - prev.ticks) / TICKS_PER_SECOND / seconds) * 100) : 0;
      usage.set(pid, { rssBytes: g.rss, cpuPct, processes: g.n, cpuSeconds: g.ticks / TICKS_PER_SECOND });
      this.prevTicks.set(pid, { ticks: g.ticks, at: now });
    }
    for (const pid of this.prevTicks.keys()) if (!groups.has(pid)) this.prevTicks.delete(pid);
    this.last = { at: now, usage };
    return usage;
  }
}

/** The daemon's own process: RSS and CPU since the previous call, from Node's counters. */
export class SelfStats {
  private prev = { cpu: process.cpuUsage(), at: Date.now() };

  sample(now = Date.now()): { rssBytes: number; cpuPct: number } {
    const cpu = process.cpuUsage();
    const seconds = (now - this.prev.at) / 1000;
    const usedUs = cpu.user - this.prev.cpu.user + (cpu.system - this.prev.cpu.system);
    const cpuPct = seconds > 0.2 ? (usedUs / 1e6 / seconds) * 100 : 0;
    if (seconds > 0.2) this.prev = { cpu, at: now };
    return { rssBytes: process.memoryUsage.rss(), cpuPct };
  }
}
