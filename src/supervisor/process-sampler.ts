/**
 * Reads /proc once per sample and sums memory and CPU per process group, so one pass serves
 * every plugin: a plugin runs as the leader of its own group, so its group is its whole tree
 * (children and grandchildren included, unless they leave the group on purpose).
 */
import { readdirSync, readFileSync } from "node:fs";
import { readProcFile } from "./proc-file.js";

export interface GroupUsage {
  rssBytes: number;
  /** utime + stime of every member, in clock ticks (USER_HZ, 100 on Linux). */
  cpuTicks: number;
  pids: number[];
}

/** The page size, found by comparing /proc/self/statm with what Node reports (no syscall API for it). */
function pageSize(): number {
  try {
    const pages = Number(readFileSync("/proc/self/statm", "latin1").split(" ")[1]);
    const guess = process.memoryUsage.rss() / pages;
    for (const size of [4096, 16384, 65536]) if (Math.abs(guess - size) / size < 0.25) return size;
  } catch {
    /* not Linux */
  }
  return 4096;
}

const PAGE = pageSize();

/**
 * Resident memory of the given processes from /proc/PID/statm alone: a few small reads, cheap
 * enough to run every 100 ms for the plugins with a memory limit (the full /proc scan that finds
 * new members runs once a second). Processes already gone count as 0.
 */
export function sampleRss(pids: readonly number[]): number {
  let rss = 0;
  for (const pid of pids) {
    try {
      rss += Number(readProcFile(`/proc/${pid}/statm`).split(" ", 2)[1]) * PAGE;
    } catch {
      /* gone */
    }
  }
  return rss;
}

/** Usage per process group id. Processes that vanish mid-scan are skipped. Linux only; empty elsewhere. */
export function sampleGroups(groups?: ReadonlySet<number>): Map<number, GroupUsage> {
  const out = new Map<number, GroupUsage>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const name of entries) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    let stat: string;
    try {
      stat = readProcFile(`/proc/${name}/stat`);
    } catch {
      continue;
    }
    // Fields after the command name (which may contain spaces and parentheses).
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const pgrp = Number(f[2]);
    if (groups && !groups.has(pgrp)) continue;
    let g = out.get(pgrp);
    if (!g) out.set(pgrp, (g = { rssBytes: 0, cpuTicks: 0, pids: [] }));
    g.rssBytes += Number(f[21]) * PAGE;
    g.cpuTicks += Number(f[11]) + Number(f[12]);
    g.pids.push(Number(name));
  }
  return out;
}
