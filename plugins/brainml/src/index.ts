/**
 * The BrainML plugin: collections of documents with full-text, vector and hybrid search, on
 * SQLite (default, in the plugin's data folder) or PostgreSQL (config.backend). Text is embedded
 * through the bus (embeddings.embed by default; the manifest's permissions allow it).
 */
import { definePlugin, type Context } from "@bkg/plugin-sdk";
import { PostgresBackend } from "./backends/postgres-backend.js";
import { SqliteBackend } from "./backends/sqlite-backend.js";
import { Brain, type NewDocument } from "./brain.js";
import type { ChunkOptions } from "./chunking/chunker.js";
import { readConfig } from "./config.js";
import { ingest, type IngestParams } from "./ingest/ingest.js";
import { SCHEMAS } from "./schemas.js";
import { runQuery, type QueryParams } from "./query/search.js";
import { createSnapshot, listSnapshots, restoreSnapshot } from "./snapshot/snapshots.js";
import type { Filter, Metric } from "./types.js";

let opened: Promise<Brain> | undefined;

/** The Brain for this process, opened on first use; a failed open is retried by the next call. */
function brainFor(ctx: { config: Record<string, unknown>; dataDir: string }): Promise<Brain> {
  opened ??= (async () => {
    const config = readConfig(ctx.config, ctx.dataDir);
    const backend =
      config.backend === "postgres"
        ? new PostgresBackend({ url: config.postgresUrl!, efSearch: config.efSearch })
        : new SqliteBackend(config.sqliteFile, { approximateAbove: config.approximateAbove, candidates: config.candidates });
    const brain = new Brain(backend, config);
    await backend.listCollections(); // surfaces a database that cannot be reached now, not mid-call
    return brain;
  })();
  opened.catch(() => (opened = undefined));
  return opened;
}

const method = <P>(description: string, params: Record<string, unknown>, run: (brain: Brain, p: P, ctx: Context) => Promise<unknown>) => ({
  description,
  params,
  handler: async (p: P, ctx: Context) => run(await brainFor(ctx), p, ctx),
});

definePlugin({
  name: "brainml",
  version: "1.0.0",
  methods: {
    "collections.create": method<{ name: string; dimensions?: number; metric?: Metric; model?: string; embedMethod?: string }>(
      "Creates a collection {name, dimensions?, metric? (cosine|l2|ip), model?, embedMethod?}; without dimensions the embedder is asked.",
      SCHEMAS.collectionsCreate,
      async (brain, p, ctx) => brain.createCollection(ctx.call, p),
    ),
    "collections.list": method("Lists the collections with their settings and counts.", SCHEMAS.collectionsList, async (brain) => {
      const out = [];
      for (const c of await brain.backend.listCollections()) {
        const s = await brain.backend.stats(c);
        out.push({ ...c, documents: s.documents, chunks: s.chunks });
      }
      return { collections: out, backend: brain.backend.kind };
    }),
    "collections.drop": method<{ name: string }>("Drops a collection with all its documents.", SCHEMAS.collectionsDrop, async (brain, p) => {
      await brain.collection(p.name);
      return { dropped: await brain.backend.dropCollection(p.name) };
    }),
    index: method<{ collection: string; documents: NewDocument[]; chunking?: Partial<ChunkOptions> }>(
      "Upserts documents [{id?, text, metadata?, embedding?, format?}]: chunked, embedded and stored in one transaction.",
      SCHEMAS.index,
      async (brain, p, ctx) => {
        const out = await brain.index(ctx.call, p.collection, p.documents, p.chunking);
        return { collection: p.collection, documents: out.ids.length, chunks: out.chunks, ids: out.ids };
      },
    ),
    ingest: method<IngestParams>(
      "Indexes files or folders (absolute paths: .txt .md .html .json .pdf, source code) or text; files that fail are listed with why.",
      SCHEMAS.ingest,
      async (brain, p, ctx) => ingest(brain, ctx.call, p),
    ),
    query: method<QueryParams>("Searches a collection: mode fts | vector | hybrid (default; reciprocal rank fusion), topK, filters on metadata.", SCHEMAS.query, async (brain, p, ctx) =>
      runQuery(brain, ctx.call, p),
    ),
    delete: method<{ collection: string; ids?: string[]; filters?: Filter[] }>("Deletes documents by ids, or those matching filters.", SCHEMAS.delete, async (brain, p) => ({
      deleted: await brain.delete(p.collection, p.ids, p.filters),
    })),
    stats: method<{ collection: string }>("Counts, settings and metadata fields of a collection.", SCHEMAS.stats, async (brain, p) => {
      const c = await brain.collection(p.collection);
      return { ...c, ...(await brain.backend.stats(c)), backend: brain.backend.kind };
    }),
    "snapshot.create": method<{ collection: string }>("Writes a collection to one snapshot file.", SCHEMAS.snapshotCreate, async (brain, p) => createSnapshot(brain, p.collection)),
    "snapshot.list": method<{ collection?: string }>("Lists the snapshot files.", SCHEMAS.snapshotList, async (brain, p) => listSnapshots(brain, p.collection)),
    "snapshot.restore": method<{ snapshot: string; collection?: string; replace?: boolean }>(
      "Restores a snapshot (a name from snapshot.list or an absolute path) exactly, on either backend.",
      SCHEMAS.snapshotRestore,
      async (brain, p) => restoreSnapshot(brain, p),
    ),
  },
  async deactivate() {
    const b = await opened?.catch(() => undefined);
    await b?.backend.close();
  },
}).serve();
