/**
 * The models this plugin can serve: GGUF models in the daemon's model store
 * ($BKG_MODELS_DIR/<name>/model.json, written by `bkg models pull`). The plugin only reads it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BkgError, ErrorCodes } from "@bkg/plugin-sdk";

export interface ModelRecord {
  name: string;
  format: string;
  files: Record<string, string>;
  size?: number;
  licence?: string;
  source?: string;
  metadata?: Record<string, unknown>;
}

export interface GgufModel {
  name: string;
  /** Absolute path of the .gguf file. */
  file: string;
  record: ModelRecord;
}

export function modelsDir(): string {
  const dir = process.env.BKG_MODELS_DIR;
  if (!dir) throw new BkgError(ErrorCodes.PluginError, "BKG_MODELS_DIR is not set: llmserver runs under the bkg daemon, which gives every plugin its model store");
  return dir;
}

function readRecord(dir: string, name: string): ModelRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, name, "model.json"), "utf8")) as ModelRecord;
  } catch {
    return undefined;
  }
}

/** A name that cannot escape the store (no separators, no dot-dot). */
const SAFE_NAME = /^[\w][\w.+-]*$/;

/** The model called `name`, or the contract's "not pulled" error (a 404 on /v1). */
export function resolveModel(name: string): GgufModel {
  const dir = modelsDir();
  const record = SAFE_NAME.test(name) && !name.includes("..") ? readRecord(dir, name) : undefined;
  if (!record) {
    const have = listModels().map((m) => m.name);
    throw new BkgError(ErrorCodes.MethodNotFound, `model "${name}" is not pulled: run \`bkg models pull ${name}\``, {
      reason: "model_not_found",
      model: name,
      models: have,
    });
  }
  const file = record.files?.model;
  if (record.format !== "gguf" || typeof file !== "string") {
    throw new BkgError(ErrorCodes.InvalidParams, `model "${name}" is ${record.format ?? "of an unknown format"}, not a GGUF model: llmserver serves GGUF models only`, {
      reason: "wrong_format",
      model: name,
      format: record.format,
    });
  }
  return { name, file: join(dir, name, file), record };
}

/** Every GGUF model in the store, by name. A missing store is an empty one. */
export function listModels(): GgufModel[] {
  const dir = modelsDir();
  let names: string[];
  try {
    // Every entry with a model.json: a folder, or a link to one.
    names = readdirSync(dir).filter((n) => !n.startsWith("."));
  } catch {
    return [];
  }
  const out: GgufModel[] = [];
  for (const name of names.sort()) {
    const record = readRecord(dir, name);
    if (record?.format === "gguf" && typeof record.files?.model === "string") out.push({ name, file: join(dir, name, record.files.model), record });
  }
  return out;
}
