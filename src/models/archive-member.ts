/**
 * Copies one file out of an archive (a wheel or .zip through yauzl; a .tar/.tar.gz sdist through
 * node-tar), hashing it on the way. A member is matched by its path inside the archive; in a tar
 * the top folder an sdist wraps everything in (NAME-VERSION/) may be left out.
 * yauzl and node-tar are loaded on the first extraction: a daemon that never pulls from an
 * archive does not carry them (they and the zlib and assert they load are ~3 MiB of its RSS).
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";
import { open as openFile } from "node:fs/promises";
import type yauzl from "yauzl";
import { ModelError, fsError } from "./model-errors.js";

export interface Extracted {
  sha256: string;
  size: number;
}

const strip = (p: string) => p.replace(/^\.\//, "").replace(/^\/+/, "");

/** Extracts `member` of `archive` into `dest`. Rejects with FetchFailed when the archive lacks it or is broken. */
export async function extractMember(archive: string, member: string, dest: string, signal?: AbortSignal): Promise<Extracted> {
  const want = strip(member);
  return /\.(whl|zip)$/i.test(archive) ? extractZip(archive, want, dest, signal) : extractTar(archive, want, dest);
}

async function extractZip(archive: string, member: string, dest: string, signal?: AbortSignal): Promise<Extracted> {
  const { default: yauzl } = await import("yauzl");
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(archive, { lazyEntries: true, autoClose: false });
  } catch (e) {
    throw new ModelError("FetchFailed", `${archive} is not a readable zip archive: ${(e as Error).message}`);
  }
  try {
    const names: string[] = [];
    for await (const entry of zip.eachEntry()) {
      names.push(entry.fileName);
      if (strip(entry.fileName) !== member) continue;
      const stream = await zip.openReadStreamPromise(entry);
      const hash = createHash("sha256");
      let size = 0;
      const fh = await openFile(dest, "w").catch((e) => {
        throw fsError(e, dest);
      });
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (signal?.aborted) throw new ModelError("Cancelled", `extracting ${member} cancelled`);
          await fh.write(chunk).catch((e) => {
            throw fsError(e, dest);
          });
          hash.update(chunk);
          size += chunk.length;
        }
      } finally {
        await fh.close();
      }
      return { sha256: hash.digest("hex"), size };
    }
    throw missing(archive, member, names);
  } finally {
    zip.close();
  }
}

async function extractTar(archive: string, member: string, dest: string): Promise<Extracted> {
  const tar = await import("tar");
  const hash = createHash("sha256");
  let size = 0;
  let found = false;
  let failure: unknown;
  const names: string[] = [];
  try {
    await tar.t({
      file: archive,
      onReadEntry(entry) {
        const path = strip(entry.path);
        names.push(path);
        if (found || entry.type !== "File" || (path !== member && path.replace(/^[^/]+\//, "") !== member)) return entry.resume();
        found = true;
        let fd: number | undefined;
        try {
          fd = openSync(dest, "w", 0o600);
        } catch (e) {
          failure = fsError(e, dest);
          return entry.resume();
        }
        entry.on("data", (chunk: Buffer) => {
          if (failure) return;
          try {
            writeSync(fd!, chunk);
            hash.update(chunk);
            size += chunk.length;
          } catch (e) {
            failure = fsError(e, dest);
          }
        });
        entry.on("end", () => closeSync(fd!));
      },
    });
  } catch (e) {
    throw new ModelError("FetchFailed", `${archive} is not a readable tar archive: ${(e as Error).message}`);
  }
  if (failure) throw failure;
  if (!found) throw missing(archive, member, names);
  return { sha256: hash.digest("hex"), size };
}

function missing(archive: string, member: string, names: string[]): ModelError {
  const near = names.filter((n) => n.endsWith(member.split("/").pop() ?? member)).slice(0, 5);
  return new ModelError("FetchFailed", `${archive} has no file ${member}${near.length ? ` (did you mean ${near.join(", ")}?)` : ""}`);
}
