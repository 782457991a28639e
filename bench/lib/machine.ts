/** The machine a run happened on: recorded with every result, because numbers mean nothing without it. */
import { execFileSync } from "node:child_process";
import { cpus, freemem, loadavg, release, totalmem } from "node:os";
import { ROOT } from "./paths.js";

export interface Machine {
  cpuModel: string;
  cores: number;
  node: string;
  os: string;
  memTotalMiB: number;
  memFreeMiBBefore: number;
  /** 1, 5 and 15 minute load averages when the run started and ended. */
  loadBefore: number[];
  loadAfter: number[];
  /** HEAD, with "+dirty" when the working tree had changes (other work in progress). */
  commit: string;
}

export function describeMachine(): Machine {
  const c = cpus();
  return {
    cpuModel: c[0]?.model.trim() ?? "unknown",
    cores: c.length,
    node: process.version,
    os: `${process.platform} ${release()}`,
    memTotalMiB: Math.round(totalmem() / 2 ** 20),
    memFreeMiBBefore: Math.round(freemem() / 2 ** 20),
    loadBefore: loadavg(),
    loadAfter: [],
    commit: gitCommit(),
  };
}

function gitCommit(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, encoding: "utf8" }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return "unknown";
  }
}
