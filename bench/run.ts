/**
 * The benchmark runner: `npm run bench [-- --quick] [-- <scenario>...]`.
 *
 * Runs each scenario (bench/<name>.bench.ts) with its baselines, prints a table, writes
 * bench/results/<date>.json and regenerates the generated part of docs/benchmarks.md. Every
 * process a scenario starts is killed at the end, on failure, and on Ctrl-C.
 *
 *   --quick           short runs (about a minute in all); results go to <date>.quick.json
 *                     and docs/benchmarks.md is left alone unless --docs is given
 *   --runs N          runs per case (default 5, quick 3)
 *   --profile / --no-profile  run or skip the profiling pass of the socket scenario
 *                     (default: on, off with --quick)
 *   --docs / --no-docs  force or skip regenerating docs/benchmarks.md
 *   --wait-idle[=S]   first wait (at most S seconds, default 600) for the 1-minute load
 *                     average to fall below half the cores, so the run starts on a calm machine
 *   --docs-only       run nothing: regenerate docs/benchmarks.md from the saved results
 *                     (after a merge that conflicted in its generated part)
 *   --list            list the scenarios and exit
 *   <name>...         only scenarios whose name contains one of these words
 */
import { cpus, loadavg } from "node:os";
import { describeMachine } from "./lib/machine.js";
import { DOCS_FILE, RESULTS_DIR } from "./lib/paths.js";
import { cleanupAll } from "./lib/procs.js";
import { consoleTable, latestPerScenario, markdown, savedRuns, writeDocs, writeRun, type RunFile } from "./lib/report.js";
import type { BenchContext, Scenario, ScenarioResult } from "./lib/scenario.js";
import { scenario as socket } from "./socket.bench.js";
import { scenario as http } from "./http.bench.js";
import { scenario as ws } from "./ws.bench.js";
import { scenario as hotSwap } from "./hot-swap.bench.js";
import { scenario as crash } from "./crash-recovery.bench.js";
import { scenario as startup } from "./startup.bench.js";
import { scenario as footprint } from "./footprint.bench.js";
import { scenario as costs } from "./costs.bench.js";
import { scenario as embeddings } from "./embeddings.bench.js";
import { scenario as brainml } from "./brainml.bench.js";

import { scenario as candle } from "./candle.bench.js";

import { scenario as faces } from "./faces.bench.js";

import { scenario as llm } from "./llm.bench.js";

import { scenario as dashboard } from "./dashboard.bench.js";

import { scenario as cluster } from "./cluster.bench.js";
import { scenario as tracing } from "./tracing.bench.js";

export const SCENARIOS: Scenario[] = [socket, http, ws, hotSwap, crash, startup, footprint, costs, embeddings, brainml, candle, faces, llm, dashboard, cluster, tracing];

interface Args {
  quick: boolean;
  runs?: number;
  profile?: boolean;
  docs?: boolean;
  list: boolean;
  docsOnly: boolean;
  waitIdleS?: number;
  filters: string[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, list: false, docsOnly: false, filters: [] };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === "--quick") a.quick = true;
    else if (x === "--runs") a.runs = Math.max(1, Number(argv[++i]) || 1);
    else if (x === "--no-profile") a.profile = false;
    else if (x === "--profile") a.profile = true;
    else if (x === "--docs") a.docs = true;
    else if (x === "--no-docs") a.docs = false;
    else if (x === "--list") a.list = true;
    else if (x === "--docs-only") a.docsOnly = true;
    else if (x === "--wait-idle") a.waitIdleS = 600;
    else if (x.startsWith("--wait-idle=")) a.waitIdleS = Math.min(1800, Number(x.slice(12)) || 0);
    else if (x.startsWith("-")) throw new Error(`unknown option ${x}; see the head of bench/run.ts`);
    else a.filters.push(x);
  }
  return a;
}

/** Rebuilds the generated part of docs/benchmarks.md from the newest result of each scenario. */
function regenerateDocs(runs: RunFile[]): void {
  writeDocs(
    DOCS_FILE,
    markdown(
      latestPerScenario(
        runs,
        SCENARIOS.map((s) => s.name),
      ),
    ),
  );
  process.stdout.write(`docs: ${DOCS_FILE}\n`);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(16)} ${s.title}\n`);
    return 0;
  }
  if (args.docsOnly) {
    regenerateDocs(savedRuns(RESULTS_DIR));
    return 0;
  }
  // A word that is exactly a scenario's name picks that scenario alone ("embeddings" is also in candle's title).
  const matches = (s: Scenario, f: string) => (SCENARIOS.some((x) => x.name === f) ? s.name === f : s.name.includes(f) || s.title.toLowerCase().includes(f.toLowerCase()));
  const chosen = SCENARIOS.filter((s) => args.filters.length === 0 || args.filters.some((f) => matches(s, f)));
  if (chosen.length === 0) throw new Error(`no scenario matches ${args.filters.join(", ")}; scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}`);

  if (args.waitIdleS) await waitIdle(args.waitIdleS);
  const started = Date.now();
  const machine = describeMachine();
  const ctx: BenchContext = {
    quick: args.quick,
    runs: args.runs ?? (args.quick ? 3 : 5),
    profile: args.profile ?? !args.quick,
    log: (msg) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`),
  };
  ctx.log(
    `bkg bench${args.quick ? " --quick" : ""}: ${chosen.map((s) => s.name).join(", ")} on ${machine.cores}x ${machine.cpuModel}, node ${machine.node}, load ${machine.loadBefore.map((x) => x.toFixed(2)).join(" ")}`,
  );

  const run: RunFile = { format: 1, date: new Date(started).toISOString(), quick: args.quick, argv: process.argv.slice(2), machine, durationMs: 0, scenarios: {} };
  for (const s of chosen) {
    const t0 = Date.now();
    const loadBefore = loadavg()[0];
    let r: ScenarioResult;
    try {
      r = await s.run(ctx);
    } catch (e) {
      ctx.log(`${s.name} failed: ${(e as Error).stack ?? e}`);
      r = { available: true, rows: [], targets: [], notes: [], error: (e as Error).message.split("\n")[0] };
    } finally {
      await cleanupAll(); // whatever the scenario left behind
    }
    r.durationMs = Date.now() - t0;
    r.load = [loadBefore, loadavg()[0]];
    run.scenarios[s.name] = { title: s.title, ...r };
    process.stdout.write(`${consoleTable(s.name, s.title, r)}\n`);
  }
  machine.loadAfter = loadavg();
  run.durationMs = Date.now() - started;

  const file = writeRun(RESULTS_DIR, run);
  process.stdout.write(`\nload average before ${machine.loadBefore.map((x) => x.toFixed(2)).join(" ")}, after ${machine.loadAfter.map((x) => x.toFixed(2)).join(" ")}\n`);
  process.stdout.write(`results: ${file}\ntook ${(run.durationMs / 1000).toFixed(1)} s\n`);
  if (args.docs ?? !args.quick) {
    regenerateDocs(args.quick ? [...savedRuns(RESULTS_DIR), run] : savedRuns(RESULTS_DIR));
  }
  return Object.values(run.scenarios).some((r) => r.error) ? 1 : 0;
}

/** Waits until the 1-minute load average is below half the cores, for at most `seconds`. */
async function waitIdle(seconds: number): Promise<void> {
  const limit = cpus().length / 2;
  const until = Date.now() + seconds * 1000;
  while (loadavg()[0] >= limit && Date.now() < until) {
    process.stderr.write(`waiting for a calm machine: load ${loadavg()[0].toFixed(2)} (want < ${limit})\n`);
    await new Promise((r) => setTimeout(r, 15_000));
  }
}

// Whatever happens, no process of ours outlives the runner.
let exiting = false;
const bail = (code: number) => {
  if (exiting) return;
  exiting = true;
  void cleanupAll().finally(() => process.exit(code));
};
process.on("SIGINT", () => bail(130));
process.on("SIGTERM", () => bail(143));
process.on("uncaughtException", (e) => {
  process.stderr.write(`uncaught: ${e.stack ?? e}\n`);
  bail(1);
});
process.on("unhandledRejection", (e) => {
  process.stderr.write(`unhandled rejection: ${(e as Error)?.stack ?? e}\n`);
});
// A hard ceiling, so that a wedged scenario cannot run forever.
const ceiling = setTimeout(
  () => {
    process.stderr.write("bench: over the time limit, stopping\n");
    bail(124);
  },
  process.argv.includes("--quick") ? 6 * 60_000 : 45 * 60_000,
);
ceiling.unref();

main().then(
  (code) => {
    clearTimeout(ceiling);
    exiting = true;
    void cleanupAll().finally(() => process.exit(code));
  },
  (e) => {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    bail(2);
  },
);
