/**
 * RSS and CPU of each plugin instance's process tree, read from /proc. A plugin runs as the
 * leader of its own process group, so its group is its tree (children and grandchildren
 * included). One pass over /proc serves every instance. Linux only: elsewhere every figure is
 * absent and nothing fails.
 */
import { sampleGroups, type GroupUsage } from "../supervisor/process-sampler.js";

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

export class ProcessStats {
  private readonly prevTicks = new Map<number, { ticks: number; at: number }>();
  private last?: { at: number; usage: Map<number, ProcUsage> };

  /** @param minIntervalMs a sample younger than this is returned again instead of re-reading /proc. */
  constructor(private readonly minIntervalMs = 1000) {}

  /** Usage of the process groups led by `leaders` (plugin pids). */
  sample(leaders: readonly number[], now = Date.now()): Map<number, ProcUsage> {
    if (this.last && now - this.last.at < this.minIntervalMs && leaders.every((p) => this.last!.usage.has(p))) return this.last.usage;
    // One /proc scan, shared with the supervisor's memory limits (supervisor/process-sampler.ts).
    const scanned = leaders.length ? sampleGroups(new Set(leaders)) : new Map<number, GroupUsage>();
    const groups = new Map([...scanned].map(([pgid, g]) => [pgid, { rss: g.rssBytes, ticks: g.cpuTicks, n: g.pids.length }]));
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
