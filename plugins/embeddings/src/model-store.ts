/**
 * Reads the daemon's model store (the shared layout: `$BKG_MODELS_DIR/<name>/model.json`).
 * Read-only: the plugin never writes there; `bkg models pull` does.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BkgError, ErrorCodes } from "@bkg/plugin-sdk";

/** A pulled ONNX text embedder: the files this plugin needs, resolved to absolute paths. */
export interface TextEmbedderRecord {
  name: string;
  modelPath: string;
  tokenizerPath: string;
  /** Longest input in tokens, [CLS] and [SEP] included (metadata.maxTokens, else 256). */
  maxTokens: number;
  /** Declared output size (metadata.dimensions), checked against the model's output when loaded. */
  dimensions?: number;
}

interface ModelJson {
  name?: string;
  format?: string;
  files?: Record<string, string>;
  metadata?: Record<string, unknown>;
}

/** all-MiniLM-L6-v2 was trained with 256-token inputs (sentence-transformers' max_seq_length). */
const DEFAULT_MAX_TOKENS = 256;

/** The models folder the daemon hands every plugin, or a clear error when it is absent. */
export function modelsDir(): string {
  const dir = process.env.BKG_MODELS_DIR;
  if (!dir) throw new BkgError(ErrorCodes.PluginError, "BKG_MODELS_DIR is not set: the embeddings plugin finds its models in the daemon's model store (config models.dir)");
  return dir;
}

function readModelJson(dir: string, name: string): ModelJson | undefined {
  const file = join(dir, name, "model.json");
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as ModelJson;
  } catch (e) {
    throw new BkgError(ErrorCodes.PluginError, `model "${name}": ${file} is not valid JSON (${(e as Error).message}); pull it again with \`bkg models pull ${name}\``);
  }
}

/** Is this record something the plugin can serve (ONNX with a model and a tokenizer)? */
function asTextEmbedder(dir: string, name: string, m: ModelJson): TextEmbedderRecord | undefined {
  if (m.format !== "onnx" || !m.files?.model || !m.files?.tokenizer) return undefined;
  const meta = m.metadata ?? {};
  const maxTokens = typeof meta.maxTokens === "number" && meta.maxTokens >= 3 ? meta.maxTokens : DEFAULT_MAX_TOKENS;
  const dimensions = typeof meta.dimensions === "number" ? meta.dimensions : undefined;
  return { name, modelPath: join(dir, name, m.files.model), tokenizerPath: join(dir, name, m.files.tokenizer), maxTokens, dimensions };
}

/**
 * The record of a pulled model by name. Throws InvalidParams when the model is not pulled or is
 * not an ONNX text embedder (the message says what to do), PluginError when its files are gone.
 */
export function resolveModel(name: string): TextEmbedderRecord {
  const dir = modelsDir();
  const m = readModelJson(dir, name);
  if (!m) {
    const available = listTextEmbedders().map((r) => r.name);
    throw new BkgError(ErrorCodes.InvalidParams, `model "${name}" is not pulled: run \`bkg models pull ${name}\``, { reason: "model_not_pulled", model: name, available });
  }
  const rec = asTextEmbedder(dir, name, m);
  if (!rec) {
    throw new BkgError(ErrorCodes.InvalidParams, `model "${name}" is a ${m.format ?? "unknown"} model, not an ONNX text embedder (files model + tokenizer); the embeddings plugin cannot serve it`, {
      reason: "model_not_supported",
      model: name,
    });
  }
  for (const f of [rec.modelPath, rec.tokenizerPath]) {
    if (!existsSync(f)) throw new BkgError(ErrorCodes.PluginError, `model "${name}" is missing ${f}: pull it again with \`bkg models pull ${name}\``, { reason: "model_files_missing", model: name });
  }
  return rec;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // a dangling link
  }
}

/** Every pulled model this plugin can serve, by name. Never throws for one broken record. */
export function listTextEmbedders(): TextEmbedderRecord[] {
  const dir = modelsDir();
  if (!existsSync(dir)) return [];
  const out: TextEmbedderRecord[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    // A model folder linked in from elsewhere is listed too, as embed already uses it by name.
    if (!entry.isDirectory() && !(entry.isSymbolicLink() && isDirectory(join(dir, entry.name)))) continue;
    try {
      const m = readModelJson(dir, entry.name);
      const rec = m && asTextEmbedder(dir, entry.name, m);
      if (rec) out.push(rec);
    } catch {
      /* a broken record is reported when someone asks for that model by name */
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
