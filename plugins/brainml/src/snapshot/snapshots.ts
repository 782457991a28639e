/**
 * brainml.snapshot.create|list|restore. Snapshots live in the plugin's snapshots folder; restore
 * also takes an absolute path (a file copied from another machine or written by the other
 * backend). A restore builds the collection under a temporary name and renames it into place only
 * when the whole file has been read and checked, so a bad file never leaves a half collection.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { basename, isAbsolute, join } from "node:path";
import type { Brain } from "../brain.js";
import { brainError } from "../errors.js";
import type { CollectionInfo } from "../types.js";
import { readSnapshot, readSnapshotHeader, writeSnapshot, type SnapshotHeader } from "./snapshot-file.js";

const SUFFIX = ".bmlsnap.gz";

export async function createSnapshot(brain: Brain, collection: string): Promise<{ snapshot: string; path: string; documents: number; chunks: number; bytes: number; sha256: string }> {
  const c = await brain.collection(collection);
  mkdirSync(brain.config.snapshotsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(".", "");
  const name = `${c.name}-${stamp}${SUFFIX}`;
  const path = join(brain.config.snapshotsDir, name);
  const stats = await brain.backend.stats(c);
  const written = await writeSnapshot(
    path,
    { collection: c, createdAt: Date.now(), backend: brain.backend.kind, documents: stats.documents, chunks: stats.chunks },
    brain.backend.exportDocuments(c, 200),
  );
  return { snapshot: name, path, ...written, bytes: statSync(path).size };
}

export async function listSnapshots(brain: Brain, collection?: string) {
  const dir = brain.config.snapshotsDir;
  if (!existsSync(dir)) return { snapshots: [] };
  const out = [];
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith(SUFFIX))
    .sort()) {
    const path = join(dir, name);
    let header: SnapshotHeader;
    try {
      header = await readSnapshotHeader(path);
    } catch (e) {
      out.push({ snapshot: name, path, error: (e as Error).message });
      continue;
    }
    if (collection && header.collection.name !== collection) continue;
    out.push({
      snapshot: name,
      path,
      collection: header.collection.name,
      version: header.version,
      backend: header.backend,
      createdAt: new Date(header.createdAt).toISOString(),
      documents: header.documents,
      chunks: header.chunks,
      bytes: statSync(path).size,
    });
  }
  return { snapshots: out };
}

export async function restoreSnapshot(brain: Brain, p: { snapshot: string; collection?: string; replace?: boolean }) {
  const path = resolveSnapshot(brain, p.snapshot);
  let header: SnapshotHeader | undefined;
  let temp: CollectionInfo | undefined;
  let documents = 0;
  let chunks = 0;
  try {
    for await (const item of readSnapshot(path, 200)) {
      if ("header" in item) {
        header = item.header;
        const target = p.collection ?? header.collection.name;
        if ((await brain.backend.getCollection(target)) && !p.replace) {
          throw brainError("collection_exists", `collection "${target}" exists; pass replace: true to replace it, or collection: "<new name>" to restore beside it`);
        }
        temp = { ...header.collection, name: `${target.slice(0, 40)}.restoring-${process.pid}-${Date.now()}` };
        await brain.backend.dropCollection(temp.name);
        await brain.backend.createCollection(temp);
        continue;
      }
      await brain.backend.upsert(temp!, item.docs);
      documents += item.docs.length;
      chunks += item.docs.reduce((s, d) => s + d.chunks.length, 0);
    }
  } catch (e) {
    if (temp) await brain.backend.dropCollection(temp.name).catch(() => undefined);
    throw e;
  }
  const target = p.collection ?? header!.collection.name;
  await brain.backend.renameCollection(temp!.name, target, p.replace === true);
  return { collection: target, documents, chunks, from: basename(path), backend: header!.backend };
}

function resolveSnapshot(brain: Brain, snapshot: string): string {
  const path = isAbsolute(snapshot) ? snapshot : join(brain.config.snapshotsDir, snapshot);
  if (!isAbsolute(snapshot) && snapshot.includes("/")) throw brainError("snapshot_not_found", `snapshot "${snapshot}": give a name from brainml.snapshot.list or an absolute path`);
  if (!existsSync(path)) {
    const names = existsSync(brain.config.snapshotsDir) ? readdirSync(brain.config.snapshotsDir).filter((n) => n.endsWith(SUFFIX)) : [];
    throw brainError("snapshot_not_found", `no snapshot ${path}; ${names.length ? `the snapshots are: ${names.join(", ")}` : "there are no snapshots yet"}`);
  }
  return path;
}

/** Removes a snapshot file (tests and operators keep the folder tidy this way). */
export function removeSnapshot(brain: Brain, snapshot: string): void {
  rmSync(resolveSnapshot(brain, snapshot));
}
