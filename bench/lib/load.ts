/**
 * A closed-loop load generator: `inflight` workers each send the next call as soon as the last
 * one answered, for at most `durationMs` and at most `maxCalls` calls. It records every
 * latency, and the CPU time of this process and of any other pids, over the measured window.
 */
import { performance } from "node:perf_hooks";
import { cpuMicros, selfCpuMicros } from "./procs.js";
import { percentile } from "./stats.js";

export interface LoadOptions {
  inflight: number;
  durationMs: number;
  /** Hard cap on calls, so the loop is bounded in count as well as time. */
  maxCalls: number;
  /** Unmeasured calls first, at the same concurrency (ms). */
  warmupMs?: number;
  /** Processes whose CPU time is charged to this run, by role. */
  pids?: Record<string, number | undefined>;
  /** Is the local process (the load generator) part of the measured path? Default true. */
  countSelf?: boolean;
}

export interface LoadResult {
  calls: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
  /** CPU µs per call summed over this process (if counted) and every pid. */
  cpuUsPerCall: number;
  /** CPU µs per call of each role in opts.pids (and "client" for this process). */
  cpuByRole: Record<string, number>;
}

/** Runs the closed loop. Never throws for failed calls: they are counted. */
export async function closedLoop(call: () => Promise<unknown>, opts: LoadOptions): Promise<LoadResult> {
  if (opts.warmupMs) await loop(call, opts.inflight, opts.warmupMs, opts.maxCalls, undefined);
  const roles = Object.entries(opts.pids ?? {}).filter((e): e is [string, number] => typeof e[1] === "number");
  const countSelf = opts.countSelf ?? true;
  const cpu0 = roles.map(([, pid]) => cpuMicros(pid));
  const self0 = selfCpuMicros();
  const lat = new Float64Array(opts.maxCalls);
  const r = await loop(call, opts.inflight, opts.durationMs, opts.maxCalls, lat);
  const self1 = selfCpuMicros();
  const cpu1 = roles.map(([, pid]) => cpuMicros(pid));
  const n = Math.min(r.calls, lat.length);
  const sorted = lat.subarray(0, n).sort();
  const cpuByRole: Record<string, number> = {};
  let total = 0;
  if (countSelf) {
    cpuByRole.client = (self1 - self0) / Math.max(1, r.calls);
    total += cpuByRole.client;
  }
  roles.forEach(([role], i) => {
    cpuByRole[role] = (cpu1[i] - cpu0[i]) / Math.max(1, r.calls);
    total += cpuByRole[role];
  });
  return {
    calls: r.calls,
    errors: r.errors,
    firstError: r.firstError,
    elapsedMs: r.elapsedMs,
    callsPerSec: (r.calls / r.elapsedMs) * 1000,
    p50Us: percentile(sorted, n, 50) * 1000,
    p99Us: percentile(sorted, n, 99) * 1000,
    cpuUsPerCall: total,
    cpuByRole,
  };
}

async function loop(call: () => Promise<unknown>, inflight: number, durationMs: number, maxCalls: number, lat: Float64Array | undefined) {
  let calls = 0;
  let started = 0;
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const until = t0 + durationMs;
  const worker = async () => {
    while (started < maxCalls) {
      const t = performance.now();
      if (t >= until) return;
      started++;
      try {
        await call();
        if (lat) lat[calls] = performance.now() - t;
        calls++;
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return { calls, errors, firstError, elapsedMs: performance.now() - t0 };
}

/**
 * Measures every subject `runs` times, rotating which goes first in each round so that drift in
 * the machine's load falls on all of them alike; each subject's results come back in run order.
 */
export async function interleaved<S extends { name: string }, R>(subjects: S[], runs: number, measure: (s: S) => Promise<R>, afterRound?: (round: number) => void): Promise<Map<string, R[]>> {
  const res = new Map<string, R[]>(subjects.map((s) => [s.name, []]));
  for (let r = 0; r < runs; r++) {
    for (let j = 0; j < subjects.length; j++) {
      const s = subjects[(r + j) % subjects.length];
      res.get(s.name)?.push(await measure(s));
    }
    afterRound?.(r);
  }
  return res;
}
