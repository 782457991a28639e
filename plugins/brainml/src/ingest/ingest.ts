/**
 * brainml.ingest: files (or folders) and raw text into a collection. Each file is read on its
 * own; one that fails (not text, too large, an unreadable PDF) is listed in `failed` with why,
 * and the others are indexed together in one write.
 */
import type { Brain, NewDocument } from "../brain.js";
import type { ChunkOptions } from "../chunking/chunker.js";
import type { CallFn } from "../embedder.js";
import { brainError } from "../errors.js";
import type { Metadata } from "../types.js";
import { extract } from "./extract.js";
import type { Format } from "./formats.js";
import { expandPaths, isFailure, readOne, type ReadFailed } from "./read-files.js";

export interface IngestParams {
  collection: string;
  paths?: string[];
  text?: string;
  /** Document id for `text` (default: a hash of the text). Files use their absolute path. */
  id?: string;
  format?: Format;
  metadata?: Metadata;
  chunking?: Partial<ChunkOptions>;
}

export async function ingest(brain: Brain, call: CallFn, p: IngestParams) {
  await brain.collection(p.collection); // fail early, naming the collections, before reading files
  if (!p.paths?.length && p.text === undefined) throw brainError("query_missing", "brainml.ingest needs paths (absolute files or folders) or text");
  const docs: NewDocument[] = [];
  const indexed: Array<{ id: string; path?: string; format: Format }> = [];
  let failed: ReadFailed[] = [];
  if (p.text !== undefined) {
    const format = p.format ?? "text";
    const out = await extract(new TextEncoder().encode(p.text), format, "text");
    docs.push({ ...(p.id ? { id: p.id } : {}), text: out.text, format, metadata: { format, ...(out.title ? { title: out.title } : {}), ...p.metadata } });
  }
  if (p.paths?.length) {
    const found = expandPaths(p.paths, p.format);
    failed = found.failed;
    for (const file of found.files) {
      const r = await readOne(file, p.format, brain.config.maxFileBytes);
      if (isFailure(r)) {
        failed.push(r);
        continue;
      }
      const metadata: Metadata = {
        source: r.path,
        format: r.format,
        ...(r.title ? { title: r.title } : {}),
        ...(r.language ? { language: r.language } : {}),
        ...(r.pages ? { pages: r.pages } : {}),
        ...p.metadata,
      };
      docs.push({ id: r.path, text: r.text, format: r.format, metadata });
    }
  }
  if (docs.length === 0) return { indexed: [], failed, chunks: 0 };
  const written = await brain.index(call, p.collection, docs, p.chunking);
  written.ids.forEach((id, i) => indexed.push({ id, ...(docs[i].metadata?.source ? { path: String(docs[i].metadata!.source) } : {}), format: docs[i].format as Format }));
  return { indexed, failed, chunks: written.chunks };
}
