/**
 * What decides whether a plugin's build step runs: a hash of its input files (paths and
 * contents, found by the manifest's `build.inputs` globs) and of the step itself (argv, cwd,
 * env), compared with the hash of the last successful build, kept in the data folder.
 */
import { createHash } from "node:crypto";
import { type Dirent, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import picomatch from "picomatch";
import type { BuildStep } from "../registry/index.js";

/** Never inputs: dependencies, VCS data and build output (hashing cargo's target/ would take minutes). */
const NEVER = new Set(["node_modules", ".git", "target", "__pycache__", ".venv", "dist"]);

export interface InputsHash {
  hash: string;
  /** How many files matched the inputs globs. */
  files: number;
}

/** Hashes the step and the files its inputs globs match (relative to its cwd), in path order. */
export async function hashBuildInputs(step: BuildStep): Promise<InputsHash> {
  const matches = picomatch(step.inputs, { dot: false });
  const files = new Set<string>();
  const bases = new Set<string>();
  for (const g of step.inputs) {
    const scan = picomatch.scan(g);
    if (scan.isGlob) bases.add(resolve(step.cwd, scan.base || "."));
    else if (isFile(resolve(step.cwd, g))) files.add(relative(step.cwd, resolve(step.cwd, g)).split(sep).join("/")); // a plain path: Cargo.toml
  }
  for (const base of bases)
    for await (const file of walk(base)) {
      const rel = relative(step.cwd, file).split(sep).join("/");
      if (matches(rel)) files.add(rel);
    }
  const h = createHash("sha256");
  h.update(JSON.stringify({ command: step.command, cwd: step.cwd, env: step.env, outputs: step.outputs }));
  for (const rel of [...files].sort()) {
    h.update(`\0${rel}\0`);
    h.update(await readFile(join(step.cwd, rel)));
  }
  return { hash: h.digest("hex"), files: files.size };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

async function* walk(dir: string): AsyncGenerator<string> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return; // a base folder that does not exist matches nothing
  }
  for (const e of entries) {
    if (NEVER.has(e.name)) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) yield* walk(path);
    else if (e.isFile()) yield path;
  }
}

/** The record of a plugin's last successful build: <dataDir>/builds/<plugin>.json. */
export interface BuildRecord {
  hash: string;
  at: number;
  durationMs: number;
}

export function buildRecordFile(dataDir: string, plugin: string): string {
  return join(dataDir, "builds", `${plugin}.json`);
}

export function readBuildRecord(file: string): BuildRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(file, "utf8")) as BuildRecord;
    return typeof r.hash === "string" ? r : undefined;
  } catch {
    return undefined; // none yet, or unreadable: build again
  }
}

export function writeBuildRecord(file: string, record: BuildRecord): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record)}\n`);
  renameSync(tmp, file); // atomic: a daemon killed mid-write never leaves a record that skips a build
}

/** Why a build is needed, or undefined when the last successful one still stands. */
export function rebuildReason(step: BuildStep, record: BuildRecord | undefined, hash: string): string | undefined {
  if (!record) return "no successful build recorded";
  if (record.hash !== hash) return "inputs changed since the last build";
  const missing = step.outputs.find((o) => !existsSync(resolve(step.cwd, o)));
  return missing ? `output ${missing} is missing` : undefined;
}
