/**
 * BrainML's operations on collections and documents, independent of the wire: the plugin's
 * methods (index.ts) are thin wrappers around these. Every write embeds first and then stores in
 * one transaction, so a failure (say, the embeddings plugin is down) writes nothing.
 */
import { createHash } from "node:crypto";
import { chunkText, type ChunkOptions, type TextChunk } from "./chunking/chunker.js";
import { chunkMarkdown } from "./chunking/markdown.js";
import type { BrainConfig } from "./config.js";
import { embedTexts, type CallFn } from "./embedder.js";
import { brainError } from "./errors.js";
import { checkFilters } from "./query/filters.js";
import type { Backend, ChunkRecord, CollectionInfo, DocumentRecord, Filter, Metadata, Metric } from "./types.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface NewDocument {
  id?: string;
  text: string;
  metadata?: Metadata;
  /** A precomputed vector: the document is stored as one chunk with it, and nothing is embedded. */
  embedding?: number[];
  /** "markdown" chunks at headings; anything else chunks as plain text. */
  format?: string;
}

export class Brain {
  constructor(
    readonly backend: Backend,
    readonly config: BrainConfig,
  ) {}

  async collection(name: string): Promise<CollectionInfo> {
    const c = await this.backend.getCollection(name);
    if (c) return c;
    const names = (await this.backend.listCollections()).map((x) => x.name);
    throw brainError(
      "collection_not_found",
      `no collection "${name}"; ${names.length ? `the collections are: ${names.join(", ")}` : "there are no collections yet (create one with brainml.collections.create)"}`,
      { collection: name, collections: names },
    );
  }

  async createCollection(call: CallFn, p: { name: string; dimensions?: number; metric?: Metric; model?: string; embedMethod?: string }): Promise<CollectionInfo> {
    if (!NAME.test(p.name)) throw brainError("bad_name", `collection name "${p.name}" must be 1-64 letters, digits, _ . - and start with a letter or digit`);
    if (await this.backend.getCollection(p.name)) throw brainError("collection_exists", `collection "${p.name}" already exists; drop it first or pick another name`);
    const info: CollectionInfo = {
      name: p.name,
      dimensions: p.dimensions ?? 0,
      metric: p.metric ?? "cosine",
      model: p.model ?? this.config.defaultModel,
      embedMethod: p.embedMethod ?? this.config.defaultEmbedMethod,
      createdAt: Date.now(),
    };
    if (!p.dimensions) {
      // Ask the embedder what it gives, so the common case needs no number.
      const probe = await call<{ data?: Array<{ embedding: number[] }> }>(info.embedMethod, { input: ["dimension probe"], model: info.model }).catch((e: Error) => {
        throw brainError("embedding_failed", `dimensions were not given and ${info.embedMethod} (model ${info.model}) could not be asked for them: ${e.message}; pass dimensions`);
      });
      info.dimensions = probe?.data?.[0]?.embedding?.length ?? 0;
      if (!info.dimensions) throw brainError("embedding_failed", `${info.embedMethod} answered no vector for a probe; pass dimensions`);
    }
    await this.backend.createCollection(info);
    return info;
  }

  /** Chunks, embeds and stores documents (upsert by id). */
  async index(call: CallFn, collectionName: string, docs: NewDocument[], chunking?: Partial<ChunkOptions>): Promise<{ ids: string[]; chunks: number }> {
    const c = await this.collection(collectionName);
    const options = { ...this.config.chunking, ...chunking };
    const now = Date.now();
    const prepared = docs.map((d, i) => {
      if (d.embedding && d.embedding.length !== c.dimensions) {
        throw brainError("dimension_mismatch", `documents[${i}].embedding has ${d.embedding.length} dimensions; collection "${c.name}" holds ${c.dimensions}`, {
          expected: c.dimensions,
          got: d.embedding.length,
        });
      }
      const id = d.id ?? createHash("sha256").update(d.text).digest("hex").slice(0, 16);
      const pieces: TextChunk[] = d.embedding ? [{ text: d.text }] : d.format === "markdown" ? chunkMarkdown(d.text, options) : chunkText(d.text, options);
      return { id, doc: d, pieces: pieces.length ? pieces : [{ text: d.text }] };
    });
    const seen = new Set<string>();
    for (const p of prepared) {
      if (seen.has(p.id)) throw brainError("bad_name", `document id "${p.id}" appears twice in one call`);
      seen.add(p.id);
    }
    // Embed everything before writing anything.
    const toEmbed = prepared.filter((p) => !p.doc.embedding).flatMap((p) => p.pieces.map((x) => (x.heading && !x.text.trimStart().startsWith("#") ? `${x.heading}\n${x.text}` : x.text)));
    const vectors = toEmbed.length ? await embedTexts(call, c, toEmbed, this.config.embedBatchSize) : [];
    let next = 0;
    const records: DocumentRecord[] = prepared.map((p) => ({
      id: p.id,
      text: p.doc.text,
      metadata: p.doc.metadata ?? {},
      updatedAt: now,
      chunks: p.pieces.map(
        (x, index): ChunkRecord => ({
          index,
          text: x.text,
          ...(x.heading ? { heading: x.heading } : {}),
          vector: p.doc.embedding ? Float32Array.from(p.doc.embedding) : vectors[next++],
        }),
      ),
    }));
    await this.backend.upsert(c, records);
    return { ids: records.map((r) => r.id), chunks: records.reduce((s, r) => s + r.chunks.length, 0) };
  }

  async delete(collectionName: string, ids: string[] | undefined, filters: Filter[] | undefined): Promise<number> {
    const c = await this.collection(collectionName);
    if (ids?.length) return this.backend.deleteDocuments(c, ids);
    if (filters?.length) {
      checkFilters(filters, await this.backend.metadataFields(c));
      return this.backend.deleteWhere(c, filters);
    }
    throw brainError("query_missing", "brainml.delete needs ids or filters (to empty a collection, drop it)");
  }
}
