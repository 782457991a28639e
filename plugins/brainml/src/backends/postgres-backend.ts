/**
 * The PostgreSQL backend: per collection a documents table and a chunks table holding a
 * generated `tsvector` (english stemming, GIN index, ranked with ts_rank) and a pgvector
 * column with an HNSW index. The text is split at every non-alphanumeric character before
 * parsing, as SQLite's unicode61 tokenizer does ("QX-7731" and "a.b" are two words on both).
 * Writes are single transactions.
 */
import pg from "pg";
import { postgresFilterSql } from "../query/filters.js";
import type { Backend, ChunkView, CollectionInfo, CollectionStats, DocumentRecord, Filter, Hit, Metadata, Metric, TextMatch } from "../types.js";
import { scoreOf } from "./vectors.js";

const OPS: Record<Metric, { op: string; index: string }> = {
  cosine: { op: "<=>", index: "vector_cosine_ops" },
  l2: { op: "<->", index: "vector_l2_ops" },
  ip: { op: "<#>", index: "vector_ip_ops" },
};

const vectorText = (v: Float32Array) => `[${Array.from(v).join(",")}]`;
const parseVector = (s: string) => new Float32Array(JSON.parse(s) as number[]);

export interface PostgresOptions {
  url: string;
  /** HNSW candidate list size at query time (pgvector's hnsw.ef_search); at least 2 x topK is used. */
  efSearch?: number;
}

export class PostgresBackend implements Backend {
  readonly kind = "postgres" as const;
  private readonly pool: pg.Pool;
  private readonly ids = new Map<string, number>();
  private ready: Promise<void>;

  constructor(private readonly options: PostgresOptions) {
    this.pool = new pg.Pool({ connectionString: options.url, max: 4 });
    this.pool.on("error", () => undefined); // an idle client's error surfaces on the next query
    this.ready = this.migrate();
    this.ready.catch(() => undefined); // reported by the first query that awaits it
  }

  private async migrate(): Promise<void> {
    await this.pool.query(`
      CREATE EXTENSION IF NOT EXISTS vector;
      CREATE TABLE IF NOT EXISTS bml_collections (
        name text PRIMARY KEY, id serial UNIQUE, dimensions int NOT NULL, metric text NOT NULL,
        model text NOT NULL, embed_method text NOT NULL, created_at bigint NOT NULL);
      CREATE TABLE IF NOT EXISTS bml_fields (collection_id int NOT NULL, field text NOT NULL, PRIMARY KEY (collection_id, field));`);
  }

  private async q(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
    await this.ready;
    return this.pool.query(sql, params);
  }

  private async tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.ready;
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const out = await fn(client);
      await client.query("COMMIT");
      return out;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  private async tables(c: CollectionInfo): Promise<{ id: number; docs: string; chunks: string }> {
    let id = this.ids.get(c.name);
    if (id === undefined) {
      const r = await this.q("SELECT id FROM bml_collections WHERE name = $1", [c.name]);
      if (!r.rows[0]) throw new Error(`collection ${c.name} has no tables`);
      id = Number(r.rows[0].id);
      this.ids.set(c.name, id);
    }
    return { id, docs: `c${id}_docs`, chunks: `c${id}_chunks` };
  }

  async listCollections(): Promise<CollectionInfo[]> {
    return (await this.q("SELECT * FROM bml_collections ORDER BY name")).rows.map(toInfo);
  }

  async getCollection(name: string): Promise<CollectionInfo | undefined> {
    const r = await this.q("SELECT * FROM bml_collections WHERE name = $1", [name]);
    return r.rows[0] ? toInfo(r.rows[0]) : undefined;
  }

  async createCollection(c: CollectionInfo): Promise<void> {
    await this.tx(async (db) => {
      const r = await db.query("INSERT INTO bml_collections (name, dimensions, metric, model, embed_method, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", [
        c.name,
        c.dimensions,
        c.metric,
        c.model,
        c.embedMethod,
        c.createdAt,
      ]);
      const t = `c${Number(r.rows[0].id)}`;
      await db.query(`
        CREATE TABLE ${t}_docs (id text COLLATE "C" PRIMARY KEY, text text NOT NULL, metadata jsonb NOT NULL, updated_at bigint NOT NULL);
        CREATE TABLE ${t}_chunks (
          id bigserial PRIMARY KEY, doc_id text COLLATE "C" NOT NULL REFERENCES ${t}_docs (id) ON DELETE CASCADE, idx int NOT NULL,
          text text NOT NULL, heading text, tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', regexp_replace(text, '[^[:alnum:]]+', ' ', 'g'))) STORED,
          embedding vector(${c.dimensions}) NOT NULL, UNIQUE (doc_id, idx));
        CREATE INDEX ${t}_tsv ON ${t}_chunks USING gin (tsv);
        CREATE INDEX ${t}_hnsw ON ${t}_chunks USING hnsw (embedding ${OPS[c.metric].index});`);
    });
  }

  async dropCollection(name: string): Promise<boolean> {
    const dropped = await this.tx((db) => dropIn(db, name));
    this.ids.delete(name);
    return dropped;
  }

  async renameCollection(from: string, to: string, replace: boolean): Promise<void> {
    await this.tx(async (db) => {
      if (replace) await dropIn(db, to);
      await db.query("UPDATE bml_collections SET name = $1 WHERE name = $2", [to, from]);
    });
    this.ids.delete(from);
    this.ids.delete(to);
  }

  async upsert(c: CollectionInfo, docs: DocumentRecord[]): Promise<void> {
    const t = await this.tables(c);
    await this.tx(async (db) => {
      await db.query(`DELETE FROM ${t.docs} WHERE id = ANY($1::text[])`, [docs.map((d) => d.id)]);
      await db.query(`INSERT INTO ${t.docs} (id, text, metadata, updated_at) SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::bigint[])`, [
        docs.map((d) => d.id),
        docs.map((d) => d.text),
        docs.map((d) => JSON.stringify(d.metadata)),
        docs.map((d) => d.updatedAt),
      ]);
      const fields = [...new Set(docs.flatMap((d) => Object.keys(d.metadata)))];
      if (fields.length) await db.query("INSERT INTO bml_fields (collection_id, field) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING", [t.id, fields]);
      const rows = docs.flatMap((d) => d.chunks.map((ch) => ({ docId: d.id, ch })));
      for (let i = 0; i < rows.length; i += 500) {
        const part = rows.slice(i, i + 500);
        await db.query(
          `INSERT INTO ${t.chunks} (doc_id, idx, text, heading, embedding)
           SELECT d, i, x, h, e::vector FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[]) AS u(d, i, x, h, e)`,
          [part.map((r) => r.docId), part.map((r) => r.ch.index), part.map((r) => r.ch.text), part.map((r) => r.ch.heading ?? null), part.map((r) => vectorText(r.ch.vector))],
        );
      }
    });
  }

  async deleteDocuments(c: CollectionInfo, ids: string[]): Promise<number> {
    const t = await this.tables(c);
    return (await this.q(`DELETE FROM ${t.docs} WHERE id = ANY($1::text[])`, [ids])).rowCount ?? 0;
  }

  async deleteWhere(c: CollectionInfo, filters: Filter[]): Promise<number> {
    const t = await this.tables(c);
    const f = postgresFilterSql(filters, "d.metadata", 1);
    return (await this.q(`DELETE FROM ${t.docs} d WHERE ${f.sql}`, f.params)).rowCount ?? 0;
  }

  async searchText(c: CollectionInfo, terms: string[], topK: number, filters: Filter[], match: TextMatch): Promise<Hit[]> {
    if (terms.length === 0) return [];
    const t = await this.tables(c);
    const f = postgresFilterSql(filters, "d.metadata", 3);
    const join = filters.length ? `JOIN ${t.docs} d ON d.id = c.doc_id` : "";
    // plainto_tsquery stems, drops stop words and ANDs the terms; "any" turns the ANDs into ORs.
    // ts_rank, not ts_rank_cd: for an OR query it adds up what each term matched, so a chunk with
    // two of the terms outranks one with one (cover density scored those alike).
    const tsquery = match === "all" ? "plainto_tsquery('english', $1)" : "replace(plainto_tsquery('english', $1)::text, ' & ', ' | ')::tsquery";
    const r = await this.q(
      `SELECT c.doc_id, c.idx, ts_rank(c.tsv, q.q) AS score
       FROM (SELECT ${tsquery} AS q) q, ${t.chunks} c ${join}
       WHERE c.tsv @@ q.q AND ${f.sql} ORDER BY score DESC, c.id LIMIT $2`,
      [terms.join(" "), topK, ...f.params],
    );
    return r.rows.map((x) => ({ docId: String(x.doc_id), index: Number(x.idx), score: Number(x.score) }));
  }

  async searchVector(c: CollectionInfo, vector: Float32Array, topK: number, filters: Filter[], exact = false): Promise<Hit[]> {
    const t = await this.tables(c);
    const op = OPS[c.metric].op;
    const f = postgresFilterSql(filters, "d.metadata", 3);
    const rows = await this.tx(async (db) => {
      await db.query(`SET LOCAL hnsw.ef_search = ${Math.min(1000, Math.max(this.options.efSearch ?? 100, topK * 2))}`);
      if (filters.length === 0 && !exact) {
        return (await db.query(`SELECT doc_id, idx, embedding ${op} $1::vector AS distance FROM ${t.chunks} ORDER BY embedding ${op} $1::vector LIMIT $2`, [vectorText(vector), topK])).rows;
      }
      // Filtered (or asked to be exact): rank every row that passes, not the HNSW candidates,
      // so a selective filter still gets topK hits (pgvector filters after the index scan).
      const join = filters.length ? `JOIN ${t.docs} d ON d.id = c.doc_id` : "";
      return (
        await db.query(
          `WITH m AS MATERIALIZED (SELECT c.doc_id, c.idx, c.embedding ${op} $1::vector AS distance FROM ${t.chunks} c ${join} WHERE ${f.sql})
           SELECT * FROM m ORDER BY distance LIMIT $2`,
          [vectorText(vector), topK, ...f.params],
        )
      ).rows;
    });
    return rows.map((x) => ({ docId: String(x.doc_id), index: Number(x.idx), score: scoreOf(c.metric, Number(x.distance)) }));
  }

  async chunks(c: CollectionInfo, keys: Array<{ docId: string; index: number }>): Promise<ChunkView[]> {
    if (keys.length === 0) return [];
    const t = await this.tables(c);
    const r = await this.q(
      `SELECT c.doc_id, c.idx, c.text, c.heading, d.metadata FROM unnest($1::text[], $2::int[]) AS k(doc_id, idx)
       JOIN ${t.chunks} c ON c.doc_id = k.doc_id AND c.idx = k.idx JOIN ${t.docs} d ON d.id = c.doc_id`,
      [keys.map((k) => k.docId), keys.map((k) => k.index)],
    );
    return r.rows.map((x) => ({ docId: String(x.doc_id), index: Number(x.idx), text: String(x.text), ...(x.heading ? { heading: String(x.heading) } : {}), metadata: x.metadata as Metadata }));
  }

  async stats(c: CollectionInfo): Promise<CollectionStats> {
    const t = await this.tables(c);
    const r = await this.q(
      `SELECT (SELECT count(*) FROM ${t.docs}) AS documents, (SELECT count(*) FROM ${t.chunks}) AS chunks,
              pg_total_relation_size('${t.docs}') + pg_total_relation_size('${t.chunks}') AS bytes`,
    );
    return { documents: Number(r.rows[0].documents), chunks: Number(r.rows[0].chunks), bytes: Number(r.rows[0].bytes), metadataFields: await this.metadataFields(c) };
  }

  async metadataFields(c: CollectionInfo): Promise<string[]> {
    const t = await this.tables(c);
    return (await this.q('SELECT field FROM bml_fields WHERE collection_id = $1 ORDER BY field COLLATE "C"', [t.id])).rows.map((r) => String(r.field));
  }

  async *exportDocuments(c: CollectionInfo, pageSize: number): AsyncIterable<DocumentRecord[]> {
    const t = await this.tables(c);
    let after = "";
    for (;;) {
      const docs = (await this.q(`SELECT id, text, metadata, updated_at FROM ${t.docs} WHERE id > $1 ORDER BY id LIMIT $2`, [after, pageSize])).rows;
      if (docs.length === 0) return;
      const chunks = (await this.q(`SELECT doc_id, idx, text, heading, embedding::text AS embedding FROM ${t.chunks} WHERE doc_id = ANY($1::text[]) ORDER BY doc_id, idx`, [docs.map((d) => d.id)]))
        .rows;
      const byDoc = new Map<string, DocumentRecord["chunks"]>();
      for (const ch of chunks) {
        const list = byDoc.get(ch.doc_id) ?? [];
        list.push({ index: Number(ch.idx), text: String(ch.text), ...(ch.heading ? { heading: String(ch.heading) } : {}), vector: parseVector(ch.embedding) });
        byDoc.set(ch.doc_id, list);
      }
      yield docs.map((d) => ({ id: String(d.id), text: String(d.text), metadata: d.metadata as Metadata, updatedAt: Number(d.updated_at), chunks: byDoc.get(d.id) ?? [] }));
      after = String(docs.at(-1)!.id);
    }
  }

  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
    await this.pool.end();
  }
}

async function dropIn(db: pg.PoolClient, name: string): Promise<boolean> {
  const r = await db.query("SELECT id FROM bml_collections WHERE name = $1", [name]);
  if (!r.rows[0]) return false;
  const t = `c${Number(r.rows[0].id)}`;
  await db.query(`DROP TABLE IF EXISTS ${t}_chunks; DROP TABLE IF EXISTS ${t}_docs`);
  await db.query("DELETE FROM bml_fields WHERE collection_id = $1", [r.rows[0].id]);
  await db.query("DELETE FROM bml_collections WHERE name = $1", [name]);
  return true;
}

function toInfo(r: Record<string, unknown>): CollectionInfo {
  return {
    name: String(r.name),
    dimensions: Number(r.dimensions),
    metric: r.metric as Metric,
    model: String(r.model),
    embedMethod: String(r.embed_method),
    createdAt: Number(r.created_at),
  };
}
