/**
 * Scenario 4: hot swap under load. A plugin (bench/fixtures/versioned-echo) answers with the
 * version it read at start; 16 calls stay in flight while the benchmark changes the version,
 * either by writing a file its manifest's `watch` glob matches, or by rewriting the manifest.
 * Measured: calls that failed (target 0), and the time from the change to the first call
 * answered by the new version (target under 400 ms).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootDaemon, type BenchDaemon } from "./lib/daemon.js";
import { BENCH_DIST } from "./lib/paths.js";
import { onCleanup, sleep } from "./lib/procs.js";
import type { Row, Scenario, TargetCheck } from "./lib/scenario.js";
import { summarize } from "./lib/stats.js";
import { phases, recordLifecycle, type LifecycleLog } from "./lib/lifecycle.js";

const INFLIGHT = 16;

interface SwapResult {
  /** ms from the change to the first answer from the new version; NaN if it never came. */
  swapMs: number;
  /** change -> "swapping", -> new instance "ready", -> "swapped", -> first new answer (ms). */
  phases: number[];
  failed: number;
  calls: number;
  firstError?: string;
}

function manifest(dir: string, version: string): Record<string, unknown> {
  return {
    name: "swap",
    version,
    command: ["node", join(BENCH_DIST, "fixtures", "versioned-echo.js")],
    cwd: dir,
    provides: ["version", "echo"],
    watch: ["version.json"],
  };
}

export const scenario: Scenario = {
  name: "hot-swap",
  title: "4. Hot swap under load",
  async run(ctx) {
    const swaps = ctx.quick ? 1 : ctx.runs;
    const windowMs = ctx.quick ? 400 : 1000;
    const dir = mkdtempSync(join(tmpdir(), "bkg-bench-swap-"));
    onCleanup(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    let v = 1;
    writeFileSync(join(dir, "version.json"), JSON.stringify({ version: String(v) }));
    const d = await bootDaemon({ manifests: { swap: manifest(dir, "1.0.0") } });
    const log = await recordLifecycle(d.client, "swap");
    const byMethod: Record<string, SwapResult[]> = { "watched file changed": [], "manifest rewritten": [] };
    try {
      await d.waitReady(["swap"]);
      for (let i = 0; i < swaps; i++) {
        for (const how of Object.keys(byMethod)) {
          v++;
          const next = String(v);
          const change =
            how === "watched file changed"
              ? () => writeFileSync(join(dir, "version.json"), JSON.stringify({ version: next }))
              : () => {
                  // The version file changes too (the new process must answer differently), but
                  // the manifest's watch list is emptied first so only the manifest triggers.
                  writeFileSync(join(dir, "version.json"), JSON.stringify({ version: next }));
                  d.writeManifest("swap", { ...manifest(dir, `1.0.${next}`), watch: [] });
                };
          if (how === "manifest rewritten") {
            // Drop the watch glob (itself a reload), and let it settle before measuring.
            d.writeManifest("swap", { ...manifest(dir, `1.0.${v - 1}`), watch: [] });
            await waitSettled(d, String(v - 1));
          }
          byMethod[how].push(await swapUnderLoad(d, log, next, change, windowMs));
          if (how === "manifest rewritten") {
            d.writeManifest("swap", manifest(dir, `1.0.${next}`));
            await waitSettled(d, next);
          }
          await sleep(300);
        }
        ctx.log(`hot-swap: ${i + 1}/${swaps}`);
      }
    } finally {
      await log.stop();
      await d.stop();
    }
    const rows: Row[] = [];
    const targets: TargetCheck[] = [];
    for (const [how, rs] of Object.entries(byMethod)) {
      if (!rs.length) continue;
      const t = summarize(rs.map((r) => r.swapMs));
      const failed = rs.reduce((s, r) => s + r.failed, 0);
      const ph = (i: number) => summarize(rs.map((r) => r.phases[i]));
      rows.push({
        case: `${how} (${rs.length} swaps, ${INFLIGHT} in flight)`,
        subject: "bkg",
        metrics: [
          { label: "change -> new version ms", summary: t },
          { label: "failed calls (all swaps)", summary: summarize([failed]) },
          { label: "calls per swap window", summary: summarize(rs.map((r) => r.calls)) },
        ],
      });
      rows.push({
        case: `${how} (${rs.length} swaps, ${INFLIGHT} in flight)`,
        subject: "bkg, by phase",
        metrics: [
          { label: "change -> swapping ms", summary: ph(0) },
          { label: "-> new instance ready ms", summary: ph(1) },
          { label: "-> swapped ms", summary: ph(2) },
          { label: "-> first new answer ms", summary: ph(3) },
        ],
      });
      targets.push({
        target: `${how}: 0 failed calls`,
        met: failed === 0,
        detail: `${failed} failed of ${rs.reduce((s, r) => s + r.calls, 0)}${failed ? `: ${rs.find((r) => r.firstError)?.firstError}` : ""}`,
      });
      targets.push({
        target: `${how}: new version answers within 400 ms`,
        met: t.median <= 400,
        detail: `median ${t.median.toFixed(0)} ms (${t.min.toFixed(0)}–${t.max.toFixed(0)})${t.median <= 400 ? "" : `; gap ${(t.median - 400).toFixed(0)} ms`}`,
      });
    }
    return {
      available: true,
      rows,
      targets,
      notes: [
        `Closed loop of ${INFLIGHT} calls in flight for ${windowMs} ms before each change and until ${windowMs} ms after the new version answered. The time runs from the write (file or manifest) to the first answer carrying the new version.`,
        "It includes the file watcher's debounce (150 ms for watch globs, 50 ms for manifests), the new process's start and handshake, and the switch; the old instance is drained, not killed.",
        "By phase: from the daemon's lifecycle events (epoch ms): the change noticed (state swapping), the new instance ready, the switch (swapped), then the first answer the client saw from the new version.",
      ],
    };
  },
};

/** Waits until calls are answered by `version` and the plugin is ready again. */
async function waitSettled(d: BenchDaemon, version: string): Promise<void> {
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    try {
      const r = await d.client.call<{ version: string }>("swap.version", {});
      const p = (await d.client.plugins.list()).find((x) => x.name === "swap");
      if (r.version === version && p?.state === "ready") return;
    } catch {
      /* mid-swap */
    }
    await sleep(20);
  }
  throw new Error(`swap did not settle on version ${version}`);
}

async function swapUnderLoad(d: BenchDaemon, log: LifecycleLog, next: string, change: () => void, windowMs: number): Promise<SwapResult> {
  let stop = false;
  let failed = 0;
  let calls = 0;
  let firstError: string | undefined;
  let changedAt = NaN;
  let seenAt = NaN;
  let seenEpoch = NaN;
  const hardStop = performance.now() + 20_000;
  const worker = async () => {
    while (!stop && performance.now() < hardStop) {
      try {
        const r = await d.client.call<{ version: string }>("swap.version", {}, { timeoutMs: 10_000 });
        calls++;
        if (r.version === next && Number.isNaN(seenAt)) {
          seenAt = performance.now();
          seenEpoch = Date.now();
        }
      } catch (e) {
        failed++;
        firstError ??= (e as Error).message;
      }
    }
  };
  const workers = Array.from({ length: INFLIGHT }, worker);
  await sleep(windowMs);
  changedAt = performance.now();
  const changedEpoch = Date.now();
  change();
  while (Number.isNaN(seenAt) && performance.now() - changedAt < 15_000) await sleep(2);
  await sleep(windowMs);
  stop = true;
  await Promise.all(workers);
  const swapping = log.first(changedEpoch, "swapping");
  const ready = log.first(swapping?.ts ?? changedEpoch, "ready", true);
  const swapped = log.first(changedEpoch, "swapped");
  return { swapMs: seenAt - changedAt, phases: phases([changedEpoch, swapping?.ts, ready?.ts, swapped?.ts, Number.isNaN(seenEpoch) ? undefined : seenEpoch]), failed, calls, firstError };
}
