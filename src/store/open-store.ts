/**
 * Picks the driver from the configuration: a postgres:// or postgresql:// URL selects
 * PostgreSQL; `sqlite:PATH` or no URL selects SQLite (default file: <dataDir>/bkg.db).
 */
import { isAbsolute, join, resolve } from "node:path";
import { SqliteStore } from "./sqlite-store.js";
import { fail, type Result, type Store } from "./store.js";

export const DEFAULT_SQLITE_FILE = "bkg.db";

export interface StoreTarget {
  driver: "sqlite" | "postgres";
  /** The file (SQLite) or the URL (PostgreSQL). */
  where: string;
}

/** Where the store is, from storage.url and the data folder; an error names the bad URL. */
export function storeTarget(url: string | undefined, dataDir: string): Result<StoreTarget> {
  if (!url) return { ok: true, value: { driver: "sqlite", where: join(dataDir, DEFAULT_SQLITE_FILE) } };
  if (/^postgres(ql)?:\/\//i.test(url)) return { ok: true, value: { driver: "postgres", where: url } };
  if (/^sqlite:/i.test(url)) {
    const path = url.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    if (!path) return fail(`storage.url "${url}" names no file; use sqlite:/path/to/bkg.db`);
    return { ok: true, value: { driver: "sqlite", where: isAbsolute(path) ? path : resolve(dataDir, path) } };
  }
  return fail(`storage.url "${url}" is neither postgres://user@host/db nor sqlite:/path/to/file.db`);
}

/** Opens the store the configuration names (it still has to be migrated). */
export async function openStore(url: string | undefined, dataDir: string): Promise<Result<Store>> {
  const t = storeTarget(url, dataDir);
  if (!t.ok) return t;
  if (t.value.driver === "sqlite") return SqliteStore.open(t.value.where);
  // pg is loaded only for PostgreSQL: ~5 MiB and ~55 ms that a SQLite daemon never needs.
  const { PostgresStore } = await import("./postgres-store.js");
  return PostgresStore.open(t.value.where);
}
