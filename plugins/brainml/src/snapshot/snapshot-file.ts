/**
 * The snapshot file: gzip-compressed JSON lines. Line 1 is the header (format, version, the
 * collection's settings, counts); then one line per document with its chunks, each vector as the
 * base64 of its little-endian float32 bytes (so a restore is bit-exact on either backend; metadata
 * keys are written sorted, since JSON key order carries no meaning and jsonb does not keep it); the last
 * line is a trailer with the counts and a SHA-256 of the document lines, so a truncated or edited
 * file is refused instead of restoring part of a collection.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, renameSync, rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { finished } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import { brainError, messageOf } from "../errors.js";
import type { CollectionInfo, DocumentRecord } from "../types.js";

export const SNAPSHOT_FORMAT = "bkg-brainml-snapshot";
/** The newest snapshot version this code writes and reads. Raise it when the line format changes. */
export const SNAPSHOT_VERSION = 1;

export interface SnapshotHeader {
  format: typeof SNAPSHOT_FORMAT;
  version: number;
  collection: Omit<CollectionInfo, never>;
  createdAt: number;
  backend: string;
  documents: number;
  chunks: number;
}

interface DocLine {
  id: string;
  text: string;
  metadata: Record<string, unknown>;
  updatedAt: number;
  chunks: Array<{ index: number; text: string; heading?: string; vector: string }>;
}

/** Objects with their keys sorted, at every depth: PostgreSQL's jsonb keeps its own key order, and a snapshot must not depend on the backend. */
function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortedKeys((v as Record<string, unknown>)[k])]),
  );
}

const encodeVector = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
function decodeVector(s: string): Float32Array {
  const b = Buffer.from(s, "base64");
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer);
}

/** Writes a snapshot to `file` (through a temporary file renamed at the end, so it is never seen half-written). */
export async function writeSnapshot(
  file: string,
  header: Omit<SnapshotHeader, "format" | "version">,
  pages: AsyncIterable<DocumentRecord[]>,
): Promise<{ documents: number; chunks: number; sha256: string }> {
  const tmp = `${file}.partial`;
  const gzip = createGzip();
  const out = createWriteStream(tmp);
  gzip.pipe(out);
  const write = (line: string) => (gzip.write(`${line}\n`) ? Promise.resolve() : new Promise<void>((r) => gzip.once("drain", () => r())));
  const hash = createHash("sha256");
  let documents = 0;
  let chunks = 0;
  try {
    await write(JSON.stringify({ format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, ...header }));
    for await (const page of pages) {
      for (const d of page) {
        const line: DocLine = {
          id: d.id,
          text: d.text,
          metadata: sortedKeys(d.metadata) as Record<string, unknown>,
          updatedAt: d.updatedAt,
          chunks: d.chunks.map((c) => ({ index: c.index, text: c.text, ...(c.heading ? { heading: c.heading } : {}), vector: encodeVector(c.vector) })),
        };
        const json = JSON.stringify(line);
        hash.update(`${json}\n`);
        await write(json);
        documents++;
        chunks += d.chunks.length;
      }
    }
    const sha256 = hash.digest("hex");
    await write(JSON.stringify({ end: true, documents, chunks, sha256 }));
    gzip.end();
    await finished(out);
    renameSync(tmp, file);
    return { documents, chunks, sha256 };
  } catch (e) {
    gzip.destroy();
    out.destroy();
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Reads just the header (for listing). */
export async function readSnapshotHeader(file: string): Promise<SnapshotHeader> {
  const lines = openLines(file);
  try {
    for await (const line of lines) return parseHeader(line, file);
    throw brainError("snapshot_corrupt", `snapshot ${file} is empty`);
  } finally {
    lines.close();
  }
}

/**
 * Reads a whole snapshot: checks the header's version first (a newer one is refused before
 * anything is read), then yields documents in pages; throws at the end if the trailer is missing
 * or does not match, so the caller can discard what it wrote.
 */
export async function* readSnapshot(file: string, pageSize: number): AsyncGenerator<{ header: SnapshotHeader } | { docs: DocumentRecord[] }> {
  const lines = openLines(file);
  const hash = createHash("sha256");
  let header: SnapshotHeader | undefined;
  let page: DocumentRecord[] = [];
  let count = 0;
  try {
    for await (const line of lines) {
      if (!header) {
        header = parseHeader(line, file);
        yield { header };
        continue;
      }
      let value: DocLine & { end?: boolean; documents?: number; sha256?: string };
      try {
        value = JSON.parse(line);
      } catch (e) {
        throw brainError("snapshot_corrupt", `snapshot ${file} has a broken line after document ${count}: ${messageOf(e)}`);
      }
      if (value.end) {
        if (page.length) yield { docs: page };
        const digest = hash.digest("hex");
        if (value.documents !== count || value.sha256 !== digest) {
          throw brainError(
            "snapshot_corrupt",
            `snapshot ${file} does not match its trailer (documents ${count} vs ${value.documents}, sha256 ${digest.slice(0, 12)}… vs ${String(value.sha256).slice(0, 12)}…)`,
          );
        }
        return;
      }
      hash.update(`${line}\n`);
      count++;
      page.push({
        id: value.id,
        text: value.text,
        metadata: value.metadata,
        updatedAt: value.updatedAt,
        chunks: value.chunks.map((c) => ({ index: c.index, text: c.text, ...(c.heading ? { heading: c.heading } : {}), vector: decodeVector(c.vector) })),
      });
      if (page.length >= pageSize) {
        yield { docs: page };
        page = [];
      }
    }
    throw brainError("snapshot_corrupt", `snapshot ${file} ends without its trailer after ${count} documents (truncated?)`);
  } catch (e) {
    if ((e as { code?: string }).code === "Z_BUF_ERROR" || (e as { code?: string }).code === "Z_DATA_ERROR") {
      throw brainError("snapshot_corrupt", `snapshot ${file} is not a valid gzip file: ${messageOf(e)}`);
    }
    throw e;
  } finally {
    lines.close();
  }
}

function openLines(file: string) {
  const input = createReadStream(file).pipe(createGunzip());
  return createInterface({ input, crlfDelay: Infinity });
}

function parseHeader(line: string, file: string): SnapshotHeader {
  let h: SnapshotHeader;
  try {
    h = JSON.parse(line) as SnapshotHeader;
  } catch {
    throw brainError("snapshot_corrupt", `${file} is not a BrainML snapshot (its first line is not JSON)`);
  }
  if (h?.format !== SNAPSHOT_FORMAT) throw brainError("snapshot_corrupt", `${file} is not a BrainML snapshot (format is ${JSON.stringify(h?.format)})`);
  if (!Number.isInteger(h.version) || h.version > SNAPSHOT_VERSION) {
    throw brainError(
      "snapshot_too_new",
      `snapshot ${file} has format version ${h.version}, newer than this BrainML reads (${SNAPSHOT_VERSION}); restore it with the bkg version that wrote it or a newer one`,
      { version: h.version, supported: SNAPSHOT_VERSION },
    );
  }
  return h;
}
