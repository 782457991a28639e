/** The data model of BrainML: collections hold documents; a document is split into chunks; each chunk has one vector. */

export type Metric = "cosine" | "l2" | "ip";
export type SearchMode = "fts" | "vector" | "hybrid";
/** Full-text semantics: every query term must be in a chunk, or any one of them. */
export type TextMatch = "all" | "any";
export type FilterOp = "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "in" | "contains";
export const FILTER_OPS: readonly FilterOp[] = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains"];

export type Metadata = Record<string, unknown>;

export interface CollectionInfo {
  name: string;
  dimensions: number;
  metric: Metric;
  /** The embedding model's name in the model store, handed to the embed method. */
  model: string;
  /** plugin.method that embeds text for this collection. */
  embedMethod: string;
  createdAt: number;
}

export interface ChunkRecord {
  /** Position of the chunk in its document, from 0. */
  index: number;
  text: string;
  /** Markdown heading path the chunk sits under ("Intro > Setup"), if any. */
  heading?: string;
  vector: Float32Array;
}

export interface DocumentRecord {
  id: string;
  text: string;
  metadata: Metadata;
  chunks: ChunkRecord[];
  updatedAt: number;
}

export interface Filter {
  field: string;
  op: FilterOp;
  value: unknown;
}

/** One chunk found by one search mode, best first; score is the mode's own (higher is better). */
export interface Hit {
  docId: string;
  index: number;
  score: number;
}

export interface ChunkView {
  docId: string;
  index: number;
  text: string;
  heading?: string;
  metadata: Metadata;
}

export interface CollectionStats {
  documents: number;
  chunks: number;
  /** Bytes the collection takes on disk, where the backend can tell. */
  bytes?: number;
  metadataFields: string[];
}

/**
 * A storage engine for collections. Every write is all-or-nothing (one transaction): an upsert
 * that fails leaves the collection as it was.
 */
export interface Backend {
  readonly kind: "sqlite" | "postgres";
  listCollections(): Promise<CollectionInfo[]>;
  getCollection(name: string): Promise<CollectionInfo | undefined>;
  createCollection(info: CollectionInfo): Promise<void>;
  /** Drops a collection with everything in it; false when it did not exist. */
  dropCollection(name: string): Promise<boolean>;
  /** Renames a collection; with replace, an existing `to` is dropped in the same transaction. */
  renameCollection(from: string, to: string, replace: boolean): Promise<void>;
  /** Replaces the documents with these ids (their old chunks go) in one transaction. */
  upsert(collection: CollectionInfo, docs: DocumentRecord[]): Promise<void>;
  /** Deletes documents by id; returns how many existed. */
  deleteDocuments(collection: CollectionInfo, ids: string[]): Promise<number>;
  /** Deletes documents matching filters; returns how many. */
  deleteWhere(collection: CollectionInfo, filters: Filter[]): Promise<number>;
  /** Full-text search: terms are the query's words (stop words removed); "all" needs every term in a chunk, "any" one of them. */
  searchText(collection: CollectionInfo, terms: string[], topK: number, filters: Filter[], match: TextMatch): Promise<Hit[]>;
  searchVector(collection: CollectionInfo, vector: Float32Array, topK: number, filters: Filter[], exact?: boolean): Promise<Hit[]>;
  chunks(collection: CollectionInfo, keys: Array<{ docId: string; index: number }>): Promise<ChunkView[]>;
  stats(collection: CollectionInfo): Promise<CollectionStats>;
  /** Metadata field names seen in the collection (for filter validation). */
  metadataFields(collection: CollectionInfo): Promise<string[]>;
  /** Every document with its chunks and vectors, in id order, a page at a time. */
  exportDocuments(collection: CollectionInfo, pageSize: number): AsyncIterable<DocumentRecord[]>;
  close(): Promise<void>;
}
