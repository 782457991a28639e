/**
 * What a scenario file exports, and what it hands back to the runner: rows of metrics (each a
 * median with its min–max spread over runs), checks against the targets, and notes.
 */
import type { Summary } from "./stats.js";

export interface BenchContext {
  quick: boolean;
  /** Runs per measured case (medians are over these). */
  runs: number;
  /** Profile the daemon (--cpu-prof) where a scenario supports it. */
  profile: boolean;
  /** Progress lines on stderr. */
  log(msg: string): void;
}

/** One metric cell: a summary over runs, shown as "median (min–max)". */
export interface Metric {
  /** Column header, e.g. "calls/s", "p50 µs". */
  label: string;
  summary: Summary;
  /** Digits after the point when printed (default: 0). */
  digits?: number;
}

export interface Row {
  /** The case within the scenario, e.g. "100 B, 64 in flight". */
  case: string;
  /** What was measured: "bkg", "LIMIT-A", "pm2", ... */
  subject: string;
  metrics: Metric[];
  /** Ratio to a baseline of the same run, e.g. "0.91x LIMIT-A, 1.40x LIMIT-C". */
  vs?: string;
}

export interface TargetCheck {
  target: string;
  /** null when it could not be measured (feature missing, run failed). */
  met: boolean | null;
  /** The numbers behind the verdict, and the gap when not met. */
  detail: string;
}

export interface ScenarioResult {
  /** False when the feature under test does not exist yet; `reason` says why. */
  available: boolean;
  reason?: string;
  rows: Row[];
  targets: TargetCheck[];
  notes: string[];
  /** Profiles, summarised (top self-time functions per process). */
  profiles?: ProfileSummary[];
  /** How long the scenario took, ms (filled in by the runner). */
  durationMs?: number;
  /** 1-minute load average before and after the scenario (filled in by the runner). */
  load?: [number, number];
  /** Set by the runner when the scenario threw. */
  error?: string;
}

export interface ProfileSummary {
  process: string;
  case: string;
  totalMs: number;
  top: { fn: string; where: string; selfMs: number; selfPct: number }[];
  /** Self time grouped by package/area (vscode-jsonrpc, bkg protocol, router, node internals, GC...). */
  byArea: { area: string; selfPct: number }[];
  /** Inclusive (total) time of bkg and package functions: which code paths the time is spent under. */
  inclusive?: { fn: string; where: string; totalPct: number }[];
}

export interface Scenario {
  /** Short name used by the filter and in file names, e.g. "socket". */
  name: string;
  /** Number and title from the issue, e.g. "1. Socket-routed calls". */
  title: string;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}

export function unavailable(reason: string, notes: string[] = []): ScenarioResult {
  return { available: false, reason, rows: [], targets: [], notes };
}
