import { createHash } from "node:crypto";
import { basename, dirname, resolve } from "node:path";
import type { ResolvedConfig } from "../config/index.js";
import { toProblems, validatorFor } from "../validation/schemas.js";
import type { BuildStep, Manifest, ManifestFile, ManifestResult } from "./manifest.js";

/**
 * Parses and validates one manifest's text and fills in the daemon's defaults. Pure: never
 * throws, never touches the file system.
 */
export function parseManifest(file: string, text: string, config: ResolvedConfig): ManifestResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, invalid: { file, problems: [{ path: "", message: `not valid JSON: ${withLineAndColumn((e as Error).message, text)}` }] } };
  }
  const validate = validatorFor("plugin-manifest.schema.json");
  const name = raw && typeof raw === "object" && typeof (raw as ManifestFile).name === "string" ? (raw as ManifestFile).name : undefined;
  if (!validate(raw)) return { ok: false, invalid: { file, name, problems: toProblems(validate.errors) } };
  const m = raw as ManifestFile;
  const stem = basename(file, ".json");
  if (stem !== m.name) {
    return { ok: false, invalid: { file, name, problems: [{ path: "/name", message: `name "${m.name}" must match the file name "${stem}.json"` }] } };
  }
  const hard = hardMemoryProblem(m);
  if (hard) return { ok: false, invalid: { file, name, problems: [hard] } };
  const d = config.defaults;
  const manifest: Manifest = {
    file,
    name: m.name,
    version: m.version,
    description: m.description ?? "",
    enabled: m.enabled ?? true,
    command: m.command,
    cwd: resolve(dirname(file), m.cwd ?? "."),
    env: m.env ?? {},
    passEnv: m.passEnv ?? [],
    provides: m.provides ?? [],
    protocol: m.protocol ?? "^1.0.0",
    requires: m.requires ?? {},
    permissions: m.permissions ?? [],
    instances: m.instances ?? 1,
    concurrency: m.concurrency ?? Number.POSITIVE_INFINITY,
    queue: m.queue ?? 1000,
    standby: m.standby ?? 0,
    activation: m.activation ?? "eager",
    idleMs: m.idleMs ?? d.idleMs,
    timeouts: { ...d.timeouts, ...m.timeouts },
    restart: { ...d.restart, ...m.restart, backoff: { ...d.restart.backoff, ...m.restart?.backoff } },
    limits: { maxMessageBytes: config.limits.maxMessageBytes, jsonDepth: config.limits.jsonDepth, ...m.limits, ...hardMemory(m) },
    health: { ...d.health, ...m.health },
    watch: m.watch ?? [],
    config: m.config ?? {},
    ...(m.build ? { build: buildStep(m.build, resolve(dirname(file), m.cwd ?? ".")) } : {}),
    digest: createHash("sha256").update(text).digest("hex").slice(0, 16),
  };
  return { ok: true, manifest };
}

/** A build that runs longer is killed (its whole process group) and fails. */
export const DEFAULT_BUILD_TIMEOUT_MS = 600_000;

function buildStep(b: NonNullable<ManifestFile["build"]>, pluginCwd: string): BuildStep {
  return {
    command: b.command,
    cwd: resolve(pluginCwd, b.cwd ?? "."),
    inputs: b.inputs,
    outputs: b.outputs ?? [],
    timeoutMs: b.timeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS,
    env: b.env ?? {},
  };
}

/** Past limits.memoryMb an instance is replaced gracefully; past this margin it is killed at once. */
export const HARD_MEMORY_FACTOR = 1.25;

function hardMemory(m: ManifestFile): { memoryHardMb?: number } {
  const soft = m.limits?.memoryMb;
  if (!soft) return {};
  return { memoryHardMb: m.limits?.memoryHardMb ?? Math.ceil(soft * HARD_MEMORY_FACTOR) };
}

function hardMemoryProblem(m: ManifestFile): { path: string; message: string } | undefined {
  const l = m.limits;
  if (l?.memoryHardMb === undefined) return undefined;
  if (l.memoryMb === undefined) return { path: "/limits/memoryHardMb", message: "needs limits.memoryMb (the graceful limit it is a margin above)" };
  if (l.memoryHardMb < l.memoryMb) return { path: "/limits/memoryHardMb", message: `${l.memoryHardMb} is below limits.memoryMb (${l.memoryMb}); the hard limit must be at least the graceful one` };
  return undefined;
}

/**
 * JSON.parse's message with the line and column of the error added where it gives only a
 * character position (Node 20 does; Node 22 adds "(line L column C)" itself).
 */
export function withLineAndColumn(message: string, text: string): string {
  if (/\(line \d+ column \d+\)/.test(message)) return message;
  const at = /at position (\d+)/.exec(message);
  const pos = at ? Number(at[1]) : /end of JSON input/.test(message) ? text.length : undefined;
  if (pos === undefined) return message;
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  const column = pos - before.lastIndexOf("\n");
  return `${message} (line ${line} column ${column})`;
}
