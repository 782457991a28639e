/**
 * Runs one build step: its argv without a shell, in its own process group (a timeout or a stop
 * kills the compiler and everything it started), its output line by line to the caller (the
 * plugin's log) and the last lines kept for `bkg plugins info`.
 */
import { spawn } from "node:child_process";
import type { BuildStep } from "../registry/index.js";
import { signalGroup } from "./spawn-plugin.js";

/** Lines of output kept for a failed build's report. */
export const BUILD_TAIL_LINES = 50;

/**
 * The daemon's variables a build gets: the plugin's allow-list (PATH, HOME, locale...) and the
 * toolchains' own settings, so cargo, npm, go and a C compiler find their caches and config.
 * Secrets in the daemon's environment stay behind, as they do for plugins.
 */
const BUILD_PASSED =
  /^(PATH|HOME|LANG|LANGUAGE|TZ|TMPDIR|USER|LOGNAME|LC_\w+|CARGO_\w+|RUSTUP_\w+|RUSTC\w*|RUSTFLAGS|RUSTDOCFLAGS|CC|CXX|AR|CFLAGS|CXXFLAGS|LDFLAGS|PKG_CONFIG_PATH|GO\w+|npm_config_\w+|NPM_CONFIG_\w+|NODE_OPTIONS|PYTHON\w*|VIRTUAL_ENV|JAVA_HOME|MAKEFLAGS)$/;

export function buildEnv(step: BuildStep, plugin: string, daemonEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(daemonEnv)) if (v !== undefined && BUILD_PASSED.test(k)) env[k] = v;
  Object.assign(env, step.env);
  env.BKG_PLUGIN_NAME = plugin;
  env.BKG_BUILD = "1";
  return env;
}

export interface BuildOutcome {
  ok: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
  /** The last BUILD_TAIL_LINES lines of stdout and stderr, interleaved as they came. */
  tail: string[];
  /** Why it failed, one line a person can act on. */
  error?: string;
}

export interface RunBuildOptions {
  plugin: string;
  onLine(line: string, stream: "stdout" | "stderr"): void;
  /** Aborting kills the build (the plugin was stopped or its manifest replaced). */
  signal?: AbortSignal;
  onSpawn?(pid: number): void;
  daemonEnv?: NodeJS.ProcessEnv;
}

export function runBuild(step: BuildStep, o: RunBuildOptions): Promise<BuildOutcome> {
  const started = Date.now();
  const tail: string[] = [];
  const [cmd, ...args] = step.command;
  const file = cmd === "node" ? process.execPath : cmd;
  return new Promise((resolveOutcome) => {
    const child = spawn(file, args, { cwd: step.cwd, env: buildEnv(step, o.plugin, o.daemonEnv ?? process.env), stdio: ["ignore", "pipe", "pipe"], detached: true });
    let timedOut = false;
    let aborted = false;
    let spawnError: Error | undefined;
    const push = (line: string, stream: "stdout" | "stderr") => {
      tail.push(line);
      if (tail.length > BUILD_TAIL_LINES) tail.shift();
      o.onLine(line, stream);
    };
    for (const stream of ["stdout", "stderr"] as const) {
      let rest = "";
      child[stream].setEncoding("utf8");
      child[stream].on("data", (chunk: string) => {
        const parts = (rest + chunk).split(/\r?\n|\r/);
        rest = parts.pop() ?? "";
        for (const l of parts) if (l.trim()) push(l, stream);
      });
      child[stream].on("end", () => rest.trim() && push(rest, stream));
    }
    if (child.pid) o.onSpawn?.(child.pid);
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup(child.pid, "SIGKILL");
    }, step.timeoutMs);
    const onAbort = () => {
      aborted = true;
      signalGroup(child.pid, "SIGTERM");
      setTimeout(() => signalGroup(child.pid, "SIGKILL"), 2000).unref();
    };
    o.signal?.addEventListener("abort", onAbort, { once: true });
    if (o.signal?.aborted) onAbort();
    child.on("error", (e) => (spawnError = e));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      if (timedOut) signalGroup(child.pid, "SIGKILL"); // what the build left running in its group
      const durationMs = Date.now() - started;
      const ok = code === 0 && !timedOut && !aborted && !spawnError;
      const argv = step.command.join(" ");
      const error = ok
        ? undefined
        : spawnError
          ? `build command ${JSON.stringify(cmd)} could not be started: ${spawnError.message} (manifest field /build/command; cwd ${step.cwd})`
          : timedOut
            ? `build timed out after ${step.timeoutMs} ms and was killed with its process group (${argv}); raise build.timeoutMs if it is only slow${lastHint(tail)}`
            : aborted
              ? "build cancelled (the plugin was stopped or its manifest changed)"
              : `build failed: ${argv} exited with ${code !== null ? `code ${code}` : `signal ${signal}`}${tail.length ? `: ${tail[tail.length - 1].trim()}` : ""}`;
      resolveOutcome({ ok, code, signal, timedOut, durationMs, tail, error });
    });
  });
}

/** A build that hangs on a lock says so in its last line; repeat it in the timeout message. */
function lastHint(tail: string[]): string {
  const last = tail[tail.length - 1];
  return last ? `; its last output: ${last.trim()}` : "";
}
