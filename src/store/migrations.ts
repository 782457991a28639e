/**
 * Versioned migrations: numbered SQL files, one folder per driver
 * (src/store/migrations/<driver>/NNN_name.sql). A version is applied once, in order, inside a
 * transaction; the applied versions are rows of `bkg_schema`.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { StoreDriver } from "./store.js";
import { packageDirUrl } from "../package-root.js";

/** The migrations folder, in src/ whichever code runs (they are SQL files, not compiled). */
export const MIGRATIONS_DIR = packageDirUrl("src", "store", "migrations");

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The table that records applied versions; the same SQL on both drivers. */
export const SCHEMA_TABLE_SQL = "CREATE TABLE IF NOT EXISTS bkg_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

const cache = new Map<StoreDriver, Migration[]>();

/** Every migration of a driver, oldest first. Throws if the folder is broken (a packaging bug). */
export function migrationsFor(driver: StoreDriver): Migration[] {
  const hit = cache.get(driver);
  if (hit) return hit;
  const dir = new URL(`${driver}/`, MIGRATIONS_DIR);
  const list = readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f.slice(4, -4), sql: readFileSync(new URL(f, dir), "utf8") }));
  list.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`store migrations for ${driver} must be numbered 001, 002, ... without gaps; found ${m.version} at position ${i + 1}`);
  });
  cache.set(driver, list);
  return list;
}

export function latestVersion(driver: StoreDriver): number {
  return migrationsFor(driver).length;
}

/** The error for a database written by a newer bkg: nothing is changed, the daemon refuses to start. */
export function newerSchemaError(location: string, found: number, known: number): string {
  return (
    `the store at ${location} has schema version ${found}, but this bkg knows versions up to ${known}: ` +
    `a newer bkg has migrated it. Upgrade bkg, or point storage.url (BKG_STORAGE_URL) at another database`
  );
}
