/**
 * Runs every case against one plugin command, in a fixed order, each bounded in time, and
 * always kills the processes it started. A failing case gets the main plugin process
 * restarted, so one bug does not fail every case after it.
 */
import type { Case, CaseResult } from "./case.js";
import { calls, lifecycle, large, outbound } from "./cases/index.js";
import { DEFAULT_TIMEOUTS, Harness, type Timeouts } from "./harness.js";
import type { PluginCommand } from "./spawn.js";
import { reasonOf } from "./util.js";
import { loadVectors, vectorCase } from "./vectors.js";

export interface ConformanceOptions extends PluginCommand {
  /** Folder of vector files; the package's own vectors/ by default. */
  vectorsDir?: string;
  /** Overrides of the runner's waits. */
  timeouts?: Partial<Timeouts>;
  /** Called as each case finishes, in order. */
  onCase?: (result: CaseResult) => void;
  /** Aborting stops the run: the plugin processes are killed and the remaining cases skipped. */
  signal?: AbortSignal;
}

export interface ConformanceReport {
  cases: CaseResult[];
  passed: number;
  failed: number;
}

/** No single case may take longer than this, whatever its own waits say. */
const CASE_LIMIT_MS = 60_000;

/** The cases in the order they run. */
export function conformanceCases(vectorsDir?: string): Case[] {
  return [
    lifecycle.handshake,
    lifecycle.protocolMismatch,
    ...loadVectors(vectorsDir).map(({ group, vector }) => vectorCase(group, vector)),
    calls.ping,
    calls.cancellation,
    calls.cancelUnknown,
    calls.deadline,
    calls.streaming,
    calls.streamingNumericToken,
    outbound.callResult,
    outbound.callError,
    outbound.emit,
    outbound.log,
    large.largeRequest,
    large.largeResponse,
    calls.concurrency,
    lifecycle.shutdownExit,
    lifecycle.stdinClose,
    lifecycle.stdoutClean,
  ];
}

export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const cases = conformanceCases(options.vectorsDir);
  const h = new Harness(
    { command: options.command, cwd: options.cwd, env: options.env },
    { ...DEFAULT_TIMEOUTS, ...options.timeouts },
  );
  const results: CaseResult[] = [];
  const onAbort = () => void h.close();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (const c of cases) {
      if (options.signal?.aborted) break;
      const r = await runCase(h, c);
      if (!r.ok) await h.discardMain();
      results.push(r);
      options.onCase?.(r);
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    await h.close();
  }
  const passed = results.filter((r) => r.ok).length;
  return { cases: results, passed, failed: results.length - passed };
}

async function runCase(h: Harness, c: Case): Promise<CaseResult> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the case did not finish within ${CASE_LIMIT_MS} ms`)), CASE_LIMIT_MS);
  });
  try {
    await Promise.race([c.run(h), limit]);
    return { name: c.name, ok: true, ms: Date.now() - t0 };
  } catch (e) {
    return { name: c.name, ok: false, reason: reasonOf(e), ms: Date.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}
