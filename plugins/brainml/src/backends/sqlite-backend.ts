/**
 * The SQLite backend: one database file in the plugin's data folder. Per collection: a documents
 * table, a chunks table, an FTS5 index over the chunks (porter stemming, bm25 ranking) and a
 * sqlite-vec `vec0` table of their vectors (exact k-nearest-neighbour search). Writes are single
 * transactions, so a failed upsert leaves nothing behind.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import * as sqliteVec from "sqlite-vec";
import { APPROXIMATE_ABOVE } from "../config.js";
import { sqliteFilterSql } from "../query/filters.js";
import type { Backend, ChunkView, CollectionInfo, CollectionStats, DocumentRecord, Filter, Hit, Metadata, TextMatch } from "../types.js";
import { BinaryIndex } from "./binary-index.js";
import { dot, fromBlob, scoreOf, toBlob } from "./vectors.js";

interface Tables {
  docs: string;
  chunks: string;
  fts: string;
  vec: string;
}

export interface SqliteOptions {
  /** Unfiltered vector search uses the in-memory binary index from this many chunks on (0: never). */
  approximateAbove?: number;
  /** Candidates the binary index hands to the exact rerank: max(this, 20 x topK). */
  candidates?: number;
}

export class SqliteBackend implements Backend {
  readonly kind = "sqlite" as const;
  private readonly db: Database.Database;
  private readonly ids = new Map<string, number>();
  /** Per collection: its binary index once built, and its chunk count once counted. */
  private readonly indexes = new Map<string, BinaryIndex>();
  private readonly counts = new Map<string, number>();
  private readonly approximateAbove: number;
  private readonly candidateCount: number;

  constructor(file: string, options: SqliteOptions = {}) {
    this.approximateAbove = options.approximateAbove ?? APPROXIMATE_ABOVE;
    this.candidateCount = options.candidates ?? 1000;
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    sqliteVec.load(this.db);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS bml_collections (
        name TEXT PRIMARY KEY, id INTEGER NOT NULL UNIQUE, dimensions INTEGER NOT NULL, metric TEXT NOT NULL,
        model TEXT NOT NULL, embed_method TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS bml_fields (collection_id INTEGER NOT NULL, field TEXT NOT NULL, PRIMARY KEY (collection_id, field));`);
  }

  private tables(c: CollectionInfo): Tables {
    let id = this.ids.get(c.name);
    if (id === undefined) {
      const row = this.db.prepare("SELECT id FROM bml_collections WHERE name = ?").get(c.name);
      if (!row) throw new Error(`collection ${c.name} has no tables`);
      id = Number(row.id);
      this.ids.set(c.name, id);
    }
    return { docs: `c${id}_docs`, chunks: `c${id}_chunks`, fts: `c${id}_fts`, vec: `c${id}_vec` };
  }

  async listCollections(): Promise<CollectionInfo[]> {
    return this.db.prepare("SELECT * FROM bml_collections ORDER BY name").all().map(toInfo);
  }

  async getCollection(name: string): Promise<CollectionInfo | undefined> {
    const row = this.db.prepare("SELECT * FROM bml_collections WHERE name = ?").get(name);
    return row ? toInfo(row) : undefined;
  }

  async createCollection(c: CollectionInfo): Promise<void> {
    this.db.transaction(() => {
      const id = Number(this.db.prepare("SELECT coalesce(max(id), 0) + 1 AS id FROM bml_collections").get()!.id);
      this.db
        .prepare("INSERT INTO bml_collections (name, id, dimensions, metric, model, embed_method, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(c.name, id, c.dimensions, c.metric, c.model, c.embedMethod, c.createdAt);
      const t = `c${id}`;
      // vec0 knows cosine and L2; inner-product collections are scored in JS over the stored vectors.
      const metric = c.metric === "cosine" ? "cosine" : "l2";
      this.db.exec(`
        CREATE TABLE ${t}_docs (id TEXT PRIMARY KEY, text TEXT NOT NULL, metadata TEXT NOT NULL, updated_at INTEGER NOT NULL);
        CREATE TABLE ${t}_chunks (rowid INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, idx INTEGER NOT NULL, text TEXT NOT NULL, heading TEXT, embedding BLOB NOT NULL, UNIQUE (doc_id, idx));
        CREATE VIRTUAL TABLE ${t}_fts USING fts5(text, content='${t}_chunks', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2');
        CREATE VIRTUAL TABLE ${t}_vec USING vec0(embedding float[${c.dimensions}] distance_metric=${metric});`);
    })();
  }

  async dropCollection(name: string): Promise<boolean> {
    return this.db.transaction(() => this.dropSync(name))();
  }

  private dropSync(name: string): boolean {
    const row = this.db.prepare("SELECT id FROM bml_collections WHERE name = ?").get(name);
    if (!row) return false;
    const t = `c${Number(row.id)}`;
    for (const table of ["fts", "vec", "chunks", "docs"]) this.db.exec(`DROP TABLE IF EXISTS ${t}_${table}`);
    this.db.prepare("DELETE FROM bml_fields WHERE collection_id = ?").run(row.id);
    this.db.prepare("DELETE FROM bml_collections WHERE name = ?").run(name);
    this.forget(name);
    return true;
  }

  async renameCollection(from: string, to: string, replace: boolean): Promise<void> {
    this.db.transaction(() => {
      if (replace) this.dropSync(to);
      this.db.prepare("UPDATE bml_collections SET name = ? WHERE name = ?").run(to, from);
    })();
    this.forget(from);
    this.forget(to);
  }

  private forget(name: string): void {
    this.ids.delete(name);
    this.indexes.delete(name);
    this.counts.delete(name);
  }

  async upsert(c: CollectionInfo, docs: DocumentRecord[]): Promise<void> {
    const t = this.tables(c);
    const id = this.ids.get(c.name);
    const putDoc = this.db.prepare(`INSERT OR REPLACE INTO ${t.docs} (id, text, metadata, updated_at) VALUES (?, ?, ?, ?)`);
    // The vector is also kept in the chunks table: the approximate search reranks its candidates
    // from there (a B-tree lookup per row), which is far cheaper than vec0's lookup by rowid.
    const putChunk = this.db.prepare(`INSERT INTO ${t.chunks} (doc_id, idx, text, heading, embedding) VALUES (?, ?, ?, ?, ?)`);
    const putFts = this.db.prepare(`INSERT INTO ${t.fts} (rowid, text) VALUES (?, ?)`);
    const putVec = this.db.prepare(`INSERT INTO ${t.vec} (rowid, embedding) VALUES (?, ?)`);
    const putField = this.db.prepare("INSERT OR IGNORE INTO bml_fields (collection_id, field) VALUES (?, ?)");
    const removed: number[] = [];
    const added: Array<[number, Float32Array]> = [];
    this.db.transaction(() => {
      this.removeDocs(
        t,
        docs.map((d) => d.id),
        removed,
      );
      for (const d of docs) {
        putDoc.run(d.id, d.text, JSON.stringify(d.metadata), d.updatedAt);
        for (const field of Object.keys(d.metadata)) putField.run(id, field);
        for (const ch of d.chunks) {
          const blob = toBlob(ch.vector);
          const rowid = BigInt(putChunk.run(d.id, ch.index, ch.text, ch.heading ?? null, blob).lastInsertRowid);
          putFts.run(rowid, ch.text);
          putVec.run(rowid, blob);
          added.push([Number(rowid), ch.vector]);
        }
      }
    })();
    this.afterWrite(c.name, removed, added);
  }

  /** Keeps the cached count and the binary index in step with a committed write. */
  private afterWrite(name: string, removed: number[], added: Array<[number, Float32Array]>): void {
    const count = this.counts.get(name);
    if (count !== undefined) this.counts.set(name, count - removed.length + added.length);
    const index = this.indexes.get(name);
    if (!index) return;
    for (const rowid of removed) index.remove(rowid);
    for (const [rowid, v] of added) index.add(rowid, v);
  }

  /** Removes documents with their chunks from every index; runs inside the caller's transaction. */
  private removeDocs(t: Tables, ids: string[], removedRowids: number[]): number {
    const old = this.db.prepare(`SELECT rowid, text FROM ${t.chunks} WHERE doc_id = ?`);
    const delFts = this.db.prepare(`INSERT INTO ${t.fts} (${t.fts}, rowid, text) VALUES ('delete', ?, ?)`);
    const delVec = this.db.prepare(`DELETE FROM ${t.vec} WHERE rowid = ?`);
    const delChunks = this.db.prepare(`DELETE FROM ${t.chunks} WHERE doc_id = ?`);
    const delDoc = this.db.prepare(`DELETE FROM ${t.docs} WHERE id = ?`);
    let removed = 0;
    for (const id of ids) {
      for (const row of old.all(id)) {
        delFts.run(row.rowid, row.text);
        delVec.run(BigInt(row.rowid as number));
        removedRowids.push(Number(row.rowid));
      }
      delChunks.run(id);
      removed += delDoc.run(id).changes;
    }
    return removed;
  }

  async deleteDocuments(c: CollectionInfo, ids: string[]): Promise<number> {
    const t = this.tables(c);
    const removed: number[] = [];
    const n = this.db.transaction(() => this.removeDocs(t, ids, removed))();
    this.afterWrite(c.name, removed, []);
    return n;
  }

  async deleteWhere(c: CollectionInfo, filters: Filter[]): Promise<number> {
    const t = this.tables(c);
    const f = sqliteFilterSql(filters, "d.metadata");
    const removed: number[] = [];
    const n = this.db.transaction(() => {
      const ids = this.db
        .prepare(`SELECT d.id FROM ${t.docs} d WHERE ${f.sql}`)
        .all(...f.params)
        .map((r) => String(r.id));
      return this.removeDocs(t, ids, removed);
    })();
    this.afterWrite(c.name, removed, []);
    return n;
  }

  async searchText(c: CollectionInfo, terms: string[], topK: number, filters: Filter[], match: TextMatch): Promise<Hit[]> {
    if (terms.length === 0) return [];
    const t = this.tables(c);
    const expression = terms.map((w) => `"${w.replace(/"/g, '""')}"`).join(match === "all" ? " AND " : " OR ");
    const f = sqliteFilterSql(filters, "d.metadata");
    const join = filters.length ? `JOIN ${t.docs} d ON d.id = c.doc_id` : "";
    const rows = this.db
      .prepare(
        `SELECT c.doc_id, c.idx, -f.rank AS score FROM ${t.fts} f JOIN ${t.chunks} c ON c.rowid = f.rowid ${join}
         WHERE ${t.fts} MATCH ? AND ${f.sql} ORDER BY f.rank LIMIT ?`,
      )
      .all(expression, ...f.params, topK);
    return rows.map((r) => ({ docId: String(r.doc_id), index: Number(r.idx), score: Number(r.score) }));
  }

  async searchVector(c: CollectionInfo, vector: Float32Array, topK: number, filters: Filter[], exact = false): Promise<Hit[]> {
    const t = this.tables(c);
    if (c.metric === "ip") return this.scanInnerProduct(c, t, vector, topK, filters);
    const index = filters.length === 0 && !exact ? this.binaryIndex(c, t) : undefined;
    if (index) {
      // Approximate: the binary index's candidates, reranked by exact distance.
      const rowids = index.candidates(vector, Math.max(this.candidateCount, topK * 20));
      const fn = c.metric === "cosine" ? "vec_distance_cosine" : "vec_distance_l2";
      const rows = this.db
        .prepare(
          // CROSS JOIN keeps json_each outermost: one chunks-table lookup per candidate.
          `SELECT c.doc_id, c.idx, ${fn}(c.embedding, ?) AS distance FROM json_each(?) j
           CROSS JOIN ${t.chunks} c ON c.rowid = j.value ORDER BY distance LIMIT ?`,
        )
        .all(toBlob(vector), JSON.stringify(rowids), topK);
      return rows.map((r) => ({ docId: String(r.doc_id), index: Number(r.idx), score: scoreOf(c.metric, Number(r.distance)) }));
    }
    if (filters.length === 0) {
      const rows = this.db
        .prepare(
          `SELECT c.doc_id, c.idx, k.distance FROM (SELECT rowid, distance FROM ${t.vec} WHERE embedding MATCH ? AND k = ?) k
           JOIN ${t.chunks} c ON c.rowid = k.rowid ORDER BY k.distance`,
        )
        .all(toBlob(vector), topK);
      return rows.map((r) => ({ docId: String(r.doc_id), index: Number(r.idx), score: scoreOf(c.metric, Number(r.distance)) }));
    }
    // Filtered: exact distances over the rows that pass the filter, so topK hits come back whenever topK rows match.
    const f = sqliteFilterSql(filters, "d.metadata");
    const fn = c.metric === "cosine" ? "vec_distance_cosine" : "vec_distance_l2";
    const rows = this.db
      .prepare(
        `SELECT c.doc_id, c.idx, ${fn}(v.embedding, ?) AS distance FROM ${t.chunks} c JOIN ${t.docs} d ON d.id = c.doc_id
         JOIN ${t.vec} v ON v.rowid = c.rowid WHERE ${f.sql} ORDER BY distance LIMIT ?`,
      )
      .all(toBlob(vector), ...f.params, topK);
    return rows.map((r) => ({ docId: String(r.doc_id), index: Number(r.idx), score: scoreOf(c.metric, Number(r.distance)) }));
  }

  /** The collection's binary index, built on first use once it holds approximateAbove chunks; undefined below that. */
  private binaryIndex(c: CollectionInfo, t: Tables): BinaryIndex | undefined {
    const built = this.indexes.get(c.name);
    if (built) return built;
    if (this.approximateAbove <= 0) return undefined;
    let count = this.counts.get(c.name);
    if (count === undefined) {
      count = Number(this.db.prepare(`SELECT count(*) AS n FROM ${t.chunks}`).get()!.n);
      this.counts.set(c.name, count);
    }
    if (count < this.approximateAbove) return undefined;
    const all = this.db.prepare(`SELECT rowid, embedding FROM ${t.chunks}`);
    const vectors = function* () {
      for (const r of all.iterate()) yield fromBlob(r.embedding as Uint8Array);
    };
    const index = new BinaryIndex(c.dimensions, BinaryIndex.meanOf(vectors(), c.dimensions), count);
    for (const r of all.iterate()) index.add(Number(r.rowid), fromBlob(r.embedding as Uint8Array));
    this.indexes.set(c.name, index);
    return index;
  }

  private scanInnerProduct(_c: CollectionInfo, t: Tables, vector: Float32Array, topK: number, filters: Filter[]): Hit[] {
    const f = sqliteFilterSql(filters, "d.metadata");
    const hits: Hit[] = [];
    for (const r of this.db
      .prepare(`SELECT c.doc_id, c.idx, v.embedding FROM ${t.chunks} c JOIN ${t.docs} d ON d.id = c.doc_id JOIN ${t.vec} v ON v.rowid = c.rowid WHERE ${f.sql}`)
      .iterate(...f.params)) {
      hits.push({ docId: String(r.doc_id), index: Number(r.idx), score: dot(vector, fromBlob(r.embedding as Uint8Array)) });
    }
    return hits.sort((a, b) => b.score - a.score).slice(0, topK);
  }

  async chunks(c: CollectionInfo, keys: Array<{ docId: string; index: number }>): Promise<ChunkView[]> {
    const t = this.tables(c);
    const get = this.db.prepare(`SELECT c.text, c.heading, d.metadata FROM ${t.chunks} c JOIN ${t.docs} d ON d.id = c.doc_id WHERE c.doc_id = ? AND c.idx = ?`);
    const out: ChunkView[] = [];
    for (const k of keys) {
      const r = get.get(k.docId, k.index);
      if (r) out.push({ docId: k.docId, index: k.index, text: String(r.text), ...(r.heading ? { heading: String(r.heading) } : {}), metadata: JSON.parse(String(r.metadata)) as Metadata });
    }
    return out;
  }

  async stats(c: CollectionInfo): Promise<CollectionStats> {
    const t = this.tables(c);
    const documents = Number(this.db.prepare(`SELECT count(*) AS n FROM ${t.docs}`).get()!.n);
    const chunks = Number(this.db.prepare(`SELECT count(*) AS n FROM ${t.chunks}`).get()!.n);
    return { documents, chunks, metadataFields: await this.metadataFields(c) };
  }

  async metadataFields(c: CollectionInfo): Promise<string[]> {
    this.tables(c);
    return this.db
      .prepare("SELECT field FROM bml_fields WHERE collection_id = ? ORDER BY field")
      .all(this.ids.get(c.name))
      .map((r) => String(r.field));
  }

  async *exportDocuments(c: CollectionInfo, pageSize: number): AsyncIterable<DocumentRecord[]> {
    const t = this.tables(c);
    const page = this.db.prepare(`SELECT id, text, metadata, updated_at FROM ${t.docs} WHERE id > ? ORDER BY id LIMIT ?`);
    const chunks = this.db.prepare(`SELECT c.idx, c.text, c.heading, v.embedding FROM ${t.chunks} c JOIN ${t.vec} v ON v.rowid = c.rowid WHERE c.doc_id = ? ORDER BY c.idx`);
    let after = "";
    for (;;) {
      const rows = page.all(after, pageSize);
      if (rows.length === 0) return;
      yield rows.map((r) => ({
        id: String(r.id),
        text: String(r.text),
        metadata: JSON.parse(String(r.metadata)) as Metadata,
        updatedAt: Number(r.updated_at),
        chunks: chunks.all(r.id).map((ch) => ({
          index: Number(ch.idx),
          text: String(ch.text),
          ...(ch.heading ? { heading: String(ch.heading) } : {}),
          vector: fromBlob(ch.embedding as Uint8Array),
        })),
      }));
      after = String(rows.at(-1)!.id);
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function toInfo(r: Record<string, unknown>): CollectionInfo {
  return {
    name: String(r.name),
    dimensions: Number(r.dimensions),
    metric: r.metric as CollectionInfo["metric"],
    model: String(r.model),
    embedMethod: String(r.embed_method),
    createdAt: Number(r.created_at),
  };
}
