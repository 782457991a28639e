/**
 * The daemon's side of a manifest's `build` step: decides from the inputs' hash whether it must
 * run, waits for a turn (BuildQueue), runs it with its output in the plugin's log, and records a
 * success in <dataDir>/builds/<plugin>.json so the next start skips an unchanged build.
 */
import type { BuildStep } from "../registry/index.js";
import { buildRecordFile, hashBuildInputs, readBuildRecord, rebuildReason, writeBuildRecord } from "./build-inputs.js";
import type { BuildQueue } from "./build-queue.js";
import { runBuild } from "./build-runner.js";

/** What `bkg plugins list` / `info` show of a plugin's build. */
export interface BuildStatus {
  state: "checking" | "waiting" | "running" | "succeeded" | "skipped" | "failed";
  /** Why it ran (inputs changed, no build recorded, an output missing). */
  reason?: string;
  startedAt: number;
  durationMs?: number;
  /** The build's latest output line: its progress. */
  lastLine?: string;
  /** A failed build's last 50 lines of output. */
  tail?: string[];
  error?: string;
}

export type BuildResult = { ok: true; skipped: boolean } | { ok: false; error: string };

export interface BuilderDeps {
  dataDir: string;
  queue: BuildQueue;
  /** `output` marks the build's own output lines (shown as the plugin's stderr), else the daemon's notes. */
  log(plugin: string, level: string, msg: string, fields: Record<string, unknown>, output: boolean): void;
}

export class PluginBuilder {
  constructor(private readonly deps: BuilderDeps) {}

  /**
   * Builds `plugin` when its inputs changed since its last successful build. `status` is
   * updated in place as it goes (the host shows it); resolves, never rejects.
   */
  async ensureBuilt(plugin: string, step: BuildStep, status: (s: BuildStatus) => void, signal: AbortSignal): Promise<BuildResult> {
    const startedAt = Date.now();
    const st: BuildStatus = { state: "checking", startedAt };
    const show = (patch: Partial<BuildStatus>) => status(Object.assign(st, patch));
    show({});
    let hash: string;
    try {
      hash = (await hashBuildInputs(step)).hash;
    } catch (e) {
      const error = `cannot read the build's inputs: ${(e as Error).message}`;
      show({ state: "failed", error, durationMs: Date.now() - startedAt });
      return { ok: false, error };
    }
    const recordFile = buildRecordFile(this.deps.dataDir, plugin);
    const reason = rebuildReason(step, readBuildRecord(recordFile), hash);
    if (!reason) {
      show({ state: "skipped", reason: "inputs unchanged since the last successful build", durationMs: Date.now() - startedAt });
      return { ok: true, skipped: true };
    }
    try {
      return await this.deps.queue.run(
        async () => {
          show({ state: "running", reason, lastLine: undefined });
          this.deps.log(plugin, "info", `build: ${step.command.join(" ")} (${reason})`, { build: true }, false);
          const out = await runBuild(step, {
            plugin,
            signal,
            onLine: (line) => {
              show({ lastLine: line });
              this.deps.log(plugin, "info", line, { build: true }, true);
            },
          });
          if (!out.ok) {
            const error = out.error ?? "build failed";
            show({ state: "failed", error, tail: out.tail, durationMs: Date.now() - startedAt });
            this.deps.log(plugin, "error", error, { build: true, durationMs: out.durationMs }, false);
            return { ok: false, error };
          }
          // The inputs hashed before the build: a save during it makes the next start build again.
          writeBuildRecord(recordFile, { hash, at: Date.now(), durationMs: out.durationMs });
          show({ state: "succeeded", durationMs: Date.now() - startedAt, tail: undefined });
          this.deps.log(plugin, "info", `build succeeded in ${(out.durationMs / 1000).toFixed(1)} s`, { build: true, durationMs: out.durationMs }, false);
          return { ok: true, skipped: false };
        },
        (ahead) => show({ state: "waiting", reason, lastLine: `waiting for ${ahead} other build(s) to finish (config builds.concurrency)` }),
        signal,
      );
    } catch {
      const error = "build cancelled before it began (the plugin was stopped or its manifest changed)";
      show({ state: "failed", error, durationMs: Date.now() - startedAt });
      return { ok: false, error };
    }
  }
}

/** One line for `bkg plugins list`: what the build is doing now. */
export function buildProgressLine(s: BuildStatus, now = Date.now()): string {
  const secs = ((s.durationMs ?? now - s.startedAt) / 1000).toFixed(0);
  if (s.state === "running") return `building for ${secs} s${s.lastLine ? `: ${s.lastLine.trim().slice(0, 120)}` : ""}`;
  if (s.state === "waiting") return s.lastLine ?? "waiting for a build turn";
  if (s.state === "checking") return "checking the build's inputs";
  if (s.state === "failed") return `build failed after ${secs} s: ${s.error ?? ""}`;
  if (s.state === "skipped") return "build skipped: inputs unchanged";
  return `built in ${secs} s`;
}
