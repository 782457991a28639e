/**
 * Finds the files an ingest names (a folder is walked, hidden entries and node_modules skipped)
 * and reads each one into text, one result per file: a file that fails does not stop the others.
 */
import { readdirSync, type Stats, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { brainError, messageOf, reasonOf, type Reason } from "../errors.js";
import { extract } from "./extract.js";
import { FORMATS, formatOf, type Format } from "./formats.js";

export interface ReadOk {
  path: string;
  format: Format;
  language?: string;
  text: string;
  title?: string;
  pages?: number;
}
export interface ReadFailed {
  path: string;
  reason: Reason;
  error: string;
}

const human = (n: number) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${n} bytes`);

/** Expands folders into the files BrainML can read; a path that does not exist is a failure of its own. */
export function expandPaths(paths: string[], forced: Format | undefined): { files: string[]; failed: ReadFailed[] } {
  const files: string[] = [];
  const failed: ReadFailed[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && (forced || formatOf(p))) files.push(p);
    }
  };
  for (const p of paths) {
    if (!isAbsolute(p)) {
      failed.push({ path: p, reason: "bad_path", error: `${p} is not an absolute path (the plugin does not share the caller's working folder)` });
      continue;
    }
    let st: Stats;
    try {
      st = statSync(p);
    } catch (e) {
      failed.push({ path: p, reason: "unreadable_file", error: `${p} cannot be read: ${messageOf(e)}` });
      continue;
    }
    if (st.isDirectory()) walk(p);
    else files.push(p);
  }
  return { files, failed };
}

export async function readOne(path: string, forced: Format | undefined, maxBytes: number): Promise<ReadOk | ReadFailed> {
  try {
    const found = forced ? { format: forced } : formatOf(path);
    if (!found) {
      throw brainError("not_text", `${path}: unknown file type; BrainML reads .txt .md .html .json .pdf and source code, or pass format (${FORMATS.join(", ")})`);
    }
    const size = statSync(path).size;
    if (size > maxBytes) {
      throw brainError("file_too_large", `${path} is ${human(size)}, over the ${human(maxBytes)} limit (config maxFileBytes); split it or raise the limit`, { size, limit: maxBytes });
    }
    const bytes = await readFile(path);
    const out = await extract(bytes, found.format, path);
    return { path, format: found.format, ...("language" in found && found.language ? { language: found.language } : {}), ...out };
  } catch (e) {
    return { path, reason: reasonOf(e) ?? "unreadable_file", error: messageOf(e) };
  }
}

export const isFailure = (r: ReadOk | ReadFailed): r is ReadFailed => "reason" in r;
