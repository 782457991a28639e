/**
 * The daemon's model store: pulls run in the background with an id and report progress as bus
 * events (kind "model"); list/show/rm/verify read and change <models.dir>; the store's `models`
 * table is kept in step with the model.json files (which stay the source of truth).
 */
import { randomBytes } from "node:crypto";
import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { ModelsSettings } from "../config/index.js";
import type { ModelPullEvent } from "../events/index.js";
import type { ModelRow, Store } from "../store/index.js";
import { CATALOG } from "./catalog.js";
import { TMP_DIR } from "./leftovers.js";
import { ModelError, notPulledMessage } from "./model-errors.js";
import { checkModelName } from "./model-name.js";
import { listModelRecords, readModelRecord, type ModelRecord } from "./model-record.js";
import type { PullProgress } from "./pull.js";
import { pullPlanned } from "./pull-lazy.js";
import { planPull, type PlanOptions } from "./pull-plan.js";
import { withModelLock } from "./store-lock.js";
import { verifyModel, type VerifyProblem } from "./verify.js";

/** Progress events of one pull are sent at most this often (the last one always). */
const PROGRESS_EVERY_MS = 250;

export interface PullStatus {
  pullId: string;
  model: string;
  /** What was asked for: a catalog name, URI or path. */
  requested: string;
  state: "running" | "done" | "failed";
  startedAt: string;
  received?: number;
  total?: number;
  error?: { code: string; message: string };
  /** False when the model was already there. */
  fetched?: boolean;
}

export interface ModelServiceDeps {
  settings: ModelsSettings;
  publish(e: ModelPullEvent): void;
  /** The store and this daemon's node id, for the models table; absent: no table. */
  table?: { store: Store; nodeId: string };
  warn(msg: string): void;
  /** HF_TOKEN for hf: sources. */
  hfToken?: string;
}

export interface StartPullOptions extends Pick<PlanOptions, "name" | "sha256" | "licence" | "cwd"> {
  force?: boolean;
}

export class ModelService {
  private readonly pulls = new Map<string, { status: PullStatus; done: Promise<PullStatus>; abort: AbortController }>();

  constructor(private readonly deps: ModelServiceDeps) {}

  get dir(): string {
    return this.deps.settings.dir;
  }

  /** Every pulled model's record, by name. */
  list(): ModelRecord[] {
    return listModelRecords(this.dir);
  }

  /** The catalog, each entry marked pulled or not. */
  catalog() {
    return CATALOG.map((e) => ({
      name: e.name,
      format: e.format,
      description: e.description,
      licence: e.licence,
      size: e.files.reduce((n, f) => n + f.size, 0),
      pulled: Boolean(readModelRecord(this.dir, e.name)),
    }));
  }

  /** One model's record; throws NotPulled (saying which pull to run) or BadName. */
  show(name: string): ModelRecord {
    checkModelName(name);
    const rec = readModelRecord(this.dir, name);
    if (!rec) throw new ModelError("NotPulled", notPulledMessage(name), { pulled: this.list().map((r) => r.name) });
    return rec;
  }

  /**
   * Starts a pull and returns at once with its id; progress and the end are bus events. Bad input
   * (an unknown name, a bad source or name) throws here, before anything starts.
   */
  startPull(what: string, opts: StartPullOptions = {}): PullStatus {
    const plan = planPull(what, opts);
    const pullId = `pull_${randomBytes(6).toString("hex")}`;
    const status: PullStatus = { pullId, model: plan.name, requested: what, state: "running", startedAt: new Date().toISOString() };
    const abort = new AbortController();
    const publish = (e: Omit<ModelPullEvent, "kind" | "ts" | "pullId" | "model">) => this.deps.publish({ kind: "model", ts: Date.now(), pullId, model: plan.name, ...e });
    let lastSent = 0;
    const onProgress = (p: PullProgress) => {
      if (p.phase === "prepare") return publish({ phase: "prepare" });
      if (p.phase !== "fetch") return;
      status.received = p.received;
      status.total = p.total;
      const now = Date.now();
      if (now - lastSent < PROGRESS_EVERY_MS && p.received !== p.total) return;
      lastSent = now;
      publish({ phase: "fetch", what: p.what, received: p.received, total: p.total });
    };
    publish({ phase: "started", what });
    const s = this.deps.settings;
    const done = pullPlanned(plan, { ...opts, modelsDir: s.dir, hfEndpoint: s.hfEndpoint, pypiIndex: s.pypiIndex, hfToken: this.deps.hfToken, signal: abort.signal, onProgress }).then(
      async (r) => {
        await this.putRow(r.record);
        Object.assign(status, { state: "done", fetched: r.fetched, received: r.record.size, total: r.record.size });
        publish({ phase: "done", received: r.record.size, total: r.record.size });
        return status;
      },
      (e: unknown) => {
        const err = e instanceof ModelError ? e : new ModelError("FetchFailed", (e as Error).message);
        Object.assign(status, { state: "failed", error: { code: err.code, message: err.message } });
        publish({ phase: "failed", error: status.error });
        return status;
      },
    );
    this.pulls.set(pullId, { status, done, abort });
    return { ...status };
  }

  /** A pull's status (running ones and the last 50 finished). Throws NotPulled for an unknown id. */
  pull(pullId: string): PullStatus {
    const p = this.pulls.get(pullId);
    if (!p) throw new ModelError("NotPulled", `no pull ${JSON.stringify(pullId)}; pulls: ${[...this.pulls.keys()].join(", ") || "(none)"}`);
    return { ...p.status };
  }

  /** Resolves with the status once the pull has ended. */
  async waitPull(pullId: string): Promise<PullStatus> {
    this.pull(pullId);
    const s = await this.pulls.get(pullId)!.done;
    this.trim();
    return { ...s };
  }

  listPulls(): PullStatus[] {
    return [...this.pulls.values()].map((p) => ({ ...p.status }));
  }

  /** Removes a model's folder (moved aside under the lock, then deleted) and its row. */
  async rm(name: string): Promise<{ name: string; removed: true; size: number }> {
    const rec = this.show(name);
    await withModelLock(this.dir, name, async () => {
      const aside = join(this.dir, TMP_DIR, `${name}-${process.pid}-rm${randomBytes(3).toString("hex")}`);
      renameSync(join(this.dir, name), aside);
      rmSync(aside, { recursive: true, force: true });
    });
    if (this.deps.table) {
      const r = await this.deps.table.store.deleteModels(this.deps.table.nodeId, [name]);
      if (!r.ok) this.deps.warn(r.error);
    }
    return { name, removed: true, size: rec.size };
  }

  /** Re-hashes a model's files against its model.json. */
  async verify(name: string): Promise<{ name: string; ok: boolean; problems: VerifyProblem[] }> {
    const rec = this.show(name);
    const problems = await verifyModel(this.dir, rec);
    return { name, ok: problems.length === 0, problems };
  }

  /** Makes the table match the folder: a row per model.json, no row without one. */
  async syncTable(): Promise<void> {
    const t = this.deps.table;
    if (!t) return;
    const records = this.list();
    for (const rec of records) await this.putRow(rec);
    const rows = await t.store.models(t.nodeId);
    if (!rows.ok) return this.deps.warn(rows.error);
    const gone = rows.value.map((r) => r.name).filter((n) => !records.some((rec) => rec.name === n));
    if (gone.length) {
      const r = await t.store.deleteModels(t.nodeId, gone);
      if (!r.ok) this.deps.warn(r.error);
    }
  }

  /** Cancels running pulls (their work folders are removed) and waits for them to end. */
  async close(): Promise<void> {
    for (const p of this.pulls.values()) p.abort.abort();
    await Promise.all([...this.pulls.values()].map((p) => p.done));
  }

  private async putRow(rec: ModelRecord): Promise<void> {
    const t = this.deps.table;
    if (!t) return;
    const r = await t.store.putModel(toRow(t.nodeId, rec));
    if (!r.ok) this.deps.warn(r.error);
  }

  /** Keeps the finished pulls to the newest 50. */
  private trim(): void {
    const finished = [...this.pulls.entries()].filter(([, p]) => p.status.state !== "running");
    for (const [id] of finished.slice(0, Math.max(0, finished.length - 50))) this.pulls.delete(id);
  }
}

export function toRow(nodeId: string, rec: ModelRecord): ModelRow {
  const main = Object.values(rec.files)[0] ?? "";
  return {
    nodeId,
    name: rec.name,
    file: main,
    format: rec.format,
    size: rec.size,
    sha256: rec.sha256[main] ?? "",
    source: rec.source,
    licence: rec.licence,
    metadata: { ...rec.metadata, files: rec.files, sha256: rec.sha256, sources: rec.sources, ...(rec.prepare ? { prepare: rec.prepare } : {}) },
    pulledAt: Date.parse(rec.pulledAt) || 0,
  };
}
