/**
 * Fetches one source (source-uri.ts) into a file, hashing it. Archives (a PyPI wheel or sdist,
 * or a URL / path ending in .whl/.zip/.tar.gz with #MEMBER) are downloaded once per pull into
 * the pull's work folder, checked against the index's sha256 when it gives one, and the member
 * is copied out.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { basename, join } from "node:path";
import { extractMember, type Extracted } from "./archive-member.js";
import { downloadToFile, type DownloadProgress } from "./http-download.js";
import { ModelError, fsError } from "./model-errors.js";
import { normalizeProject, resolvePypi } from "./pypi-index.js";
import { hfUrl, type Source } from "./source-uri.js";

export interface FetchContext {
  hfEndpoint: string;
  pypiIndex: string;
  /** The pull's private work folder (archives are kept here until the pull ends). */
  workDir: string;
  signal?: AbortSignal;
  /** Progress of the current transfer: what is being transferred and how far. */
  onProgress?(what: string, p: DownloadProgress): void;
  /** Archives already fetched in this pull, by URL or path. */
  archives: Map<string, Promise<string>>;
  /** A token for hf: sources (HF_TOKEN), sent as a Bearer header to the hub only. */
  hfToken?: string;
}

/** Fetches `src` into `dest`; resolves with the sha256 and size of what was written. */
export async function fetchSource(src: Source, ctx: FetchContext, dest: string): Promise<Extracted> {
  const progress = (what: string) => (p: DownloadProgress) => ctx.onProgress?.(what, p);
  switch (src.kind) {
    case "hf": {
      const url = hfUrl(src, ctx.hfEndpoint);
      const headers = ctx.hfToken ? { authorization: `Bearer ${ctx.hfToken}` } : undefined;
      return downloadToFile(url, dest, { signal: ctx.signal, headers, onProgress: progress(url) });
    }
    case "url": {
      if (!src.member) return downloadToFile(src.url, dest, { signal: ctx.signal, onProgress: progress(src.url) });
      const archive = await cachedArchive(ctx, src.url, () => downloadArchive(ctx, src.url, basename(new URL(src.url).pathname)));
      return extractMember(archive, src.member, dest, ctx.signal);
    }
    case "pypi": {
      const key = `pypi:${normalizeProject(src.project)}==${src.version}?${src.dist ?? ""}`;
      const archive = await cachedArchive(ctx, key, async () => {
        const dist = await resolvePypi(ctx.pypiIndex, src.project, src.version, src.dist, ctx.signal);
        return downloadArchive(ctx, dist.url, dist.filename, dist.sha256, dist.size);
      });
      return extractMember(archive, src.member, dest, ctx.signal);
    }
    case "file":
      if (src.member) return extractMember(src.path, src.member, dest, ctx.signal);
      return copyWithHash(src.path, dest, ctx.signal);
  }
}

function cachedArchive(ctx: FetchContext, key: string, load: () => Promise<string>): Promise<string> {
  let p = ctx.archives.get(key);
  if (!p) {
    p = load();
    ctx.archives.set(key, p);
    // A failed fetch is not cached: the next source may be the same archive from elsewhere.
    p.catch(() => ctx.archives.delete(key));
  }
  return p;
}

async function downloadArchive(ctx: FetchContext, url: string, filename: string, sha256?: string, size?: number): Promise<string> {
  const safe = filename.replace(/[^A-Za-z0-9._+-]/g, "_") || "archive";
  const dest = join(ctx.workDir, `archive-${ctx.archives.size}-${safe}`);
  const got = await downloadToFile(url, dest, { signal: ctx.signal, expectedSize: size, onProgress: (p) => ctx.onProgress?.(filename, p) });
  if (sha256 && got.sha256 !== sha256) {
    throw new ModelError("Sha256Mismatch", `${url} has sha256 ${got.sha256}, but the package index lists ${sha256}: the download was corrupted or the file replaced`);
  }
  return dest;
}

/** Copies a local file, hashing it on the way. */
export async function copyWithHash(from: string, dest: string, signal?: AbortSignal): Promise<Extracted> {
  const hash = createHash("sha256");
  let size = 0;
  const fh = await open(dest, "w", 0o600).catch((e) => {
    throw fsError(e, dest);
  });
  // Made only now, right before the loop that listens to it: a stream made before the await
  // above could fail to open (ENOENT) while nothing listened, an uncaught exception.
  const input = createReadStream(from);
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      if (signal?.aborted) throw new ModelError("Cancelled", `copying ${from} cancelled`);
      await fh.write(chunk).catch((e) => {
        throw fsError(e, dest);
      });
      hash.update(chunk);
      size += chunk.length;
    }
  } catch (e) {
    if (e instanceof ModelError) throw e;
    throw new ModelError("FetchFailed", `${from} could not be read: ${(e as Error).message}`);
  } finally {
    input.destroy();
    await fh.close();
  }
  return { sha256: hash.digest("hex"), size };
}
