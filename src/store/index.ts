export * from "./store.js";
export { openStore, storeTarget, DEFAULT_SQLITE_FILE, type StoreTarget } from "./open-store.js";
export { SqliteStore } from "./sqlite-store.js";
export { PostgresStore, redactUrl } from "./postgres-store.js";
export { latestVersion, migrationsFor } from "./migrations.js";
