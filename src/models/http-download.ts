/**
 * Streams a URL into a file while hashing it. A connection that drops (or stalls) part way is
 * resumed with an HTTP Range request from the bytes already written; a server that ignores
 * Range (answers 200) starts the file over. Works against any HTTP server: nothing but GET,
 * Range and Content-Length is assumed.
 */
import { createHash, type Hash } from "node:crypto";
import { open } from "node:fs/promises";
import { ModelError, fsError } from "./model-errors.js";

export interface DownloadProgress {
  received: number;
  /** From Content-Length (or the expected size); undefined when the server does not say. */
  total?: number;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
  onProgress?(p: DownloadProgress): void;
  /** Attempts after the first when the transfer breaks off (default 4). */
  retries?: number;
  /** No byte for this long counts as a broken transfer, ms (default 30 s). */
  stallMs?: number;
  expectedSize?: number;
}

export interface Downloaded {
  sha256: string;
  size: number;
  /** How many times the transfer was resumed with Range. */
  resumed: number;
}

/**
 * Downloads `url` into `dest` (created or truncated) and resolves with its sha256 and size.
 * Rejects with FetchFailed (HTTP status, network error, retries used up), NoSpace, or Cancelled;
 * `dest` is left as it is for the caller to remove.
 */
export async function downloadToFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<Downloaded> {
  const retries = opts.retries ?? 4;
  const fh = await open(dest, "w", 0o600).catch((e) => {
    throw fsError(e, dest);
  });
  let hash: Hash = createHash("sha256");
  let received = 0;
  let resumed = 0;
  let total: number | undefined = opts.expectedSize;
  let lastError = "";
  try {
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (opts.signal?.aborted) throw new ModelError("Cancelled", `download of ${url} cancelled`);
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(200 * attempt, 1000)));
      const stall = new AbortController();
      const signal = opts.signal ? AbortSignal.any([opts.signal, stall.signal]) : stall.signal;
      let timer = setTimeout(() => stall.abort(), opts.stallMs ?? 30_000);
      const bump = () => {
        clearTimeout(timer);
        timer = setTimeout(() => stall.abort(), opts.stallMs ?? 30_000);
      };
      try {
        const headers: Record<string, string> = { ...opts.headers };
        if (received > 0) headers.range = `bytes=${received}-`;
        const res = await fetch(url, { headers, signal, redirect: "follow" });
        if (received > 0 && res.status === 206) {
          resumed++;
        } else if (res.status === 200) {
          if (received > 0) {
            // The server ignored Range: start over.
            await fh.truncate(0);
            hash = createHash("sha256");
            received = 0;
          }
        } else if (res.status === 416 && total !== undefined && received === total) {
          await res.body?.cancel();
          break;
        } else {
          await res.body?.cancel().catch(() => undefined);
          const msg = `${url} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
          // 4xx other than 408/429 will not get better by asking again.
          if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new ModelError("FetchFailed", msg, { status: res.status });
          lastError = msg;
          continue;
        }
        const length = Number(res.headers.get("content-length"));
        if (Number.isFinite(length) && length > 0) total = received + length;
        opts.onProgress?.({ received, total });
        if (!res.body) throw new Error("the response has no body");
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          bump();
          try {
            await fh.write(chunk, 0, chunk.length, received);
          } catch (e) {
            throw fsError(e, dest);
          }
          hash.update(chunk);
          received += chunk.length;
          opts.onProgress?.({ received, total });
        }
        if (total !== undefined && received < total) {
          lastError = `${url} ended after ${received} of ${total} bytes`;
          continue;
        }
        break;
      } catch (e) {
        if (e instanceof ModelError) throw e;
        if (opts.signal?.aborted) throw new ModelError("Cancelled", `download of ${url} cancelled`);
        // A host that does not resolve or refuses the connection will not do better in a second.
        const cause = (e as { cause?: { code?: string } }).cause?.code;
        if (received === 0 && (cause === "ENOTFOUND" || cause === "ECONNREFUSED" || cause === "EAI_AGAIN")) throw new ModelError("FetchFailed", `${url}: ${describeFetchError(e)}`);
        const why = stall.signal.aborted ? `sent nothing for ${(opts.stallMs ?? 30_000) / 1000} s` : describeFetchError(e);
        lastError = received > 0 ? `${url} broke off after ${received}${total !== undefined ? ` of ${total}` : ""} bytes: ${why}` : `${url}: ${why}`;
        if (attempt === retries) break;
      } finally {
        clearTimeout(timer);
      }
      if (attempt === retries) break;
    }
    if (total !== undefined && received < total) throw new ModelError("FetchFailed", `${lastError || `${url} ended early`} (gave up after ${retries + 1} attempts)`);
    if (received === 0 && lastError) throw new ModelError("FetchFailed", lastError);
    return { sha256: hash.digest("hex"), size: received, resumed };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** fetch's TypeError hides the reason in `cause` (ECONNREFUSED, ENOTFOUND ...). */
export function describeFetchError(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const cause = err.cause?.code ?? err.cause?.message;
  return cause ? `${err.message} (${cause})` : err.message;
}
