/** Runs a tool to its end for the tests that check the repository's files (lint, deploy). */
import { spawn } from "node:child_process";

export interface CommandResult {
  /** The exit code; -1 when the command could not start. */
  code: number | null;
  /** stdout and stderr together. */
  out: string;
}

/** `cmd args` in `cwd` (default: this process's), with this process's environment plus `env`; no colours. */
export function runCommand(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, NO_COLOR: "1", CARGO_TERM_COLOR: "never", ...opts.env } });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("error", (e) => resolve({ code: -1, out: `${cmd} could not start: ${e.message}` }));
    p.on("close", (code) => resolve({ code, out }));
  });
}
