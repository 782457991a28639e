/**
 * For tests of `bkg plugin new` and `bkg dev`: a throwaway folder outside the bkg checkout
 * where scaffolds can find what `npm install` would give them, and a way to run commands.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { BIN, ROOT } from "../../helpers/daemon.js";

/** The environment for plugins and CLIs the tests start: without tap's loader in NODE_OPTIONS. */
export function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  delete env.NODE_V8_COVERAGE;
  delete env.BKG_CONFIG;
  return env;
}

/** Shared with the Rust SDK's own builds, so a scaffold reuses its compiled dependencies. */
export const CARGO_TARGET_DIR = join(ROOT, "plugin-sdk/rust/target");

/**
 * A temporary folder with a bkg.config.json (manifests/, data/, no HTTP) and a node_modules
 * holding what a TypeScript scaffold's `npm install` would link: @bkg/plugin-sdk from this
 * checkout (as its file: dependency does), tsx, typescript and @types/node.
 */
export function scratch(prefix: string): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const config = join(dir, "bkg.config.json");
  writeFileSync(config, JSON.stringify({ manifestsDir: "manifests", dataDir: "data", logLevel: "debug", http: { enabled: false } }));
  const link = (name: string, target: string) => {
    const at = join(dir, "node_modules", name);
    mkdirSync(dirname(at), { recursive: true });
    symlinkSync(target, at, "dir");
  };
  link("@bkg/plugin-sdk", join(ROOT, "plugin-sdk/typescript"));
  for (const m of ["tsx", "typescript", "@types/node"]) link(m, join(ROOT, "node_modules", m));
  return { dir, config };
}

export interface Ran {
  code: number | null;
  out: string;
}

/** Runs a command to its end (killed after timeoutMs), stdout and stderr together. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? plainEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    p.on("error", (e) => (out += `\n${cmd} could not start: ${e.message}`));
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** bin/bkg with a config. */
export function bkg(config: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<Ran> {
  return run(process.execPath, [BIN, "--config", config, ...args], { cwd: opts.cwd, timeoutMs: opts.timeoutMs ?? 20_000 });
}

/** A manifest's command as the daemon runs it: "node" is the daemon's own Node. */
export function daemonCommand(command: string[]): string[] {
  return command[0] === "node" ? [process.execPath, ...command.slice(1)] : command;
}
