export * from "./store.js";
export { openStore, storeTarget, DEFAULT_SQLITE_FILE, type StoreTarget } from "./open-store.js";
export { SqliteStore } from "./sqlite-store.js";
// PostgresStore is reached through openStore, which loads pg only when the URL asks for it.
export type { PostgresStore } from "./postgres-store.js";
export { latestVersion, migrationsFor } from "./migrations.js";
