/**
 * Runs every case against one plugin command, in a fixed order, each bounded in time, and
 * always kills the processes it started. A failing case gets the main plugin process
 * restarted, so one bug does not fail every case after it.
 */
import type { Case, CaseResult } from "./case.js";
import { calls, lifecycle, large, outbound, protocol } from "./cases/index.js";
import { PLUGIN_NAME, type ConformanceMode } from "./handshake.js";
import { DEFAULT_TIMEOUTS, Harness, type Timeouts } from "./harness.js";
import type { PluginCommand } from "./spawn.js";
import { reasonOf } from "./util.js";
import { loadVectors, vectorCase } from "./vectors.js";

export interface ConformanceOptions extends PluginCommand {
  /**
   * `contract` (default): the protocol and every method of CONTRACT.md, for an SDK's
   * conformance plugin. `protocol`: only the protocol's rules, for any plugin whatever its
   * methods; the cases that need contract methods are left out, and concurrency is skipped.
   */
  mode?: ConformanceMode;
  /** The plugin name sent in `initialize` and BKG_PLUGIN_NAME (default "conformance"). */
  pluginName?: string;
  /** Folder of vector files; the package's own vectors/ by default (contract mode only). */
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
  /** Cases not run (each with its reason); they are not failures. */
  skipped: number;
}

/** No single case may take longer than this, whatever its own waits say. */
const CASE_LIMIT_MS = 60_000;

/** The cases in the order they run. */
export function conformanceCases(vectorsDir?: string, mode: ConformanceMode = "contract"): Case[] {
  if (mode === "protocol") {
    return [
      protocol.handshake,
      lifecycle.protocolMismatch,
      protocol.unknownMethodCase,
      calls.ping,
      protocol.cancelUnknown,
      protocol.largeRequest,
      protocol.concurrencySkipped,
      lifecycle.shutdownExit,
      lifecycle.stdinClose,
      lifecycle.stdoutClean,
    ];
  }
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

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;

export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const mode = options.mode ?? "contract";
  if (mode !== "contract" && mode !== "protocol") throw new Error(`mode must be "contract" or "protocol", got ${JSON.stringify(mode)}`);
  const pluginName = options.pluginName ?? PLUGIN_NAME;
  if (!NAME.test(pluginName)) throw new Error(`pluginName must be a plugin name (${NAME.source}), got ${JSON.stringify(pluginName)}`);
  const cases = conformanceCases(options.vectorsDir, mode);
  const h = new Harness({ command: options.command, cwd: options.cwd, env: options.env }, { ...DEFAULT_TIMEOUTS, ...options.timeouts }, pluginName);
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
  const skipped = results.filter((r) => r.skipped).length;
  const passed = results.filter((r) => r.ok && !r.skipped).length;
  return { cases: results, passed, failed: results.length - passed - skipped, skipped };
}

async function runCase(h: Harness, c: Case): Promise<CaseResult> {
  if (c.skip !== undefined) return { name: c.name, ok: true, skipped: true, reason: c.skip, ms: 0 };
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
