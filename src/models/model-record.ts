/**
 * model.json: the record of one pulled model, the shared contract between the store (which
 * writes it) and plugins (which read it from $BKG_MODELS_DIR/<name>/model.json).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isValidModelName } from "./model-name.js";

export const MODEL_RECORD_FILE = "model.json";

export type ModelFormat = "gguf" | "onnx" | "safetensors" | (string & {});

export interface ModelRecord {
  name: string;
  format: ModelFormat;
  /** role -> file name inside the model's folder (roles: gguf `model`; ONNX embedder `model`, `tokenizer`; ...). */
  files: Record<string, string>;
  /** file name -> sha256 (hex) of the file as stored (after any preparation). */
  sha256: Record<string, string>;
  /** Total bytes of the stored files. */
  size: number;
  /** Where it came from: the catalog entry ("catalog:<name>") or the URI / path given to pull. */
  source: string;
  /** file name -> the source URI that file was fetched from. */
  sources: Record<string, string>;
  licence: string;
  /** What the store read from the files (GGUF header, ONNX inputs) and what the catalog says. */
  metadata: Record<string, unknown>;
  /** The preparation step applied after fetching, if any. */
  prepare?: string;
  /** ISO 8601 time of the pull. */
  pulledAt: string;
}

/** The record of a pulled model, or undefined when the folder or its model.json is absent or unreadable. */
export function readModelRecord(modelsDir: string, name: string): ModelRecord | undefined {
  if (!isValidModelName(name)) return undefined;
  try {
    const rec = JSON.parse(readFileSync(join(modelsDir, name, MODEL_RECORD_FILE), "utf8")) as ModelRecord;
    return isRecordShaped(rec) && rec.name === name ? rec : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A model.json written by hand or by another tool may lack what the store relies on; such a
 * folder is not a model (the daemon must not fail on it), and `bkg models verify` names it.
 */
function isRecordShaped(rec: unknown): rec is ModelRecord {
  const r = rec as Partial<ModelRecord> | null;
  const isMap = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string");
  return typeof r === "object" && r !== null && typeof r.name === "string" && typeof r.format === "string" && isMap(r.files) && isMap(r.sha256);
}

/** Every pulled model's record, by name; folders without a readable model.json are not models. */
export function listModelRecords(modelsDir: string): ModelRecord[] {
  let names: string[];
  try {
    names = readdirSync(modelsDir);
  } catch {
    return [];
  }
  return names
    .sort()
    .map((n) => readModelRecord(modelsDir, n))
    .filter((r): r is ModelRecord => r !== undefined);
}

/** Absolute paths of a record's files by role. */
export function modelFilePaths(modelsDir: string, rec: ModelRecord): Record<string, string> {
  return Object.fromEntries(Object.entries(rec.files).map(([role, file]) => [role, join(modelsDir, rec.name, file)]));
}
