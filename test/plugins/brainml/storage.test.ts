/**
 * BrainML's storage, search, filters, deletes and snapshots, the same cases on SQLite and on a
 * throwaway PostgreSQL with pgvector, through a real daemon and the real plugin process.
 * Documents carry their vectors here (part of the API: `embedding`), so these cases do not need
 * the embeddings plugin; test/plugins/brainml/embedded.test.ts runs the real model.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import t from "tap";
import { backends, brainmlManifest } from "../../helpers/brainml.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";

type Result = { id: string; chunk: { index: number; text: string }; score: number; rank: number; document: { id: string; metadata: Record<string, unknown> }; highlights: string[] };
type Answer = { results: Result[]; latencyMs: number; mode: string; warnings?: string[] };

// Four-dimensional vectors, one "topic" per axis.
const DOCS = [
  {
    id: "apple",
    text: "Apples grow in orchards; the Honeycrisp apple is crisp and sweet.",
    metadata: { kind: "fruit", price: 3, tags: ["red", "sweet"], origin: "Minnesota", organic: true },
    embedding: [1, 0.1, 0, 0],
  },
  {
    id: "banana",
    text: "Bananas are rich in potassium and ripen after harvest.",
    metadata: { kind: "fruit", price: 1, tags: ["yellow"], origin: "Ecuador", organic: false },
    embedding: [0.9, 0.3, 0, 0],
  },
  {
    id: "carrot",
    text: "Carrots are root vegetables; the zanzibarine variety is rare.",
    metadata: { kind: "vegetable", price: 2, tags: ["orange"], origin: "France", organic: true },
    embedding: [0.2, 1, 0, 0],
  },
  { id: "granite", text: "Granite is an igneous rock made of quartz and feldspar.", metadata: { kind: "rock", price: 40, tags: [], origin: "Norway" }, embedding: [0, 0, 1, 0.1] },
  { id: "basalt", text: "Basalt is a volcanic rock that cools quickly from lava.", metadata: { kind: "rock", price: 25, tags: ["black"], origin: "Iceland" }, embedding: [0, 0.1, 0.9, 0.2] },
];

const ids = (a: Answer) => a.results.map((r) => r.document.id);
const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => ({}) as { code?: number; message?: string; data?: { reason?: string } },
    (e) => e as { code: number; message: string; data?: { reason?: string } },
  );

/** The document lines of a snapshot (header and trailer dropped): equal lines mean equal collections. */
const snapshotBody = (file: string) => gunzipSync(readFileSync(file)).toString("utf8").trim().split("\n").slice(1, -1);

// A third run: SQLite with its approximate vector index (binary codes, exact rerank) used from
// the first chunk, so every unfiltered vector search and every write goes through it.
// Two backends (three runs for storage), each with its own daemon and plugin processes: more than
// tap's default 120 s per file on a loaded 2-core machine.
t.setTimeout(10 * 60_000);
const all = [...backends(), { name: "sqlite-approximate" as const, config: async () => ({ backend: "sqlite", sqlite: { approximateAbove: 1 } }), stop: async () => undefined }];
t.teardown(async () => {
  for (const b of all) await b.stop();
});
const daemons: Record<string, TestDaemon> = {};

for (const backend of all) {
  t.test(backend.name, async (t) => {
    const d = await startTestDaemon({ brainml: brainmlManifest(await backend.config("storage")) });
    daemons[backend.name] = d;
    if (backend.name === "sqlite-approximate") t.teardown(() => d.stop()); // the others serve the cross-backend test below
    const call = <T = Answer>(m: string, p: Record<string, unknown>) => d.client.call<T>(`brainml.${m}`, p);
    await d.waitState("brainml", "ready");

    await t.test("collections: create, list, duplicate, bad name", async (t) => {
      const c = await call<{ name: string; dimensions: number; metric: string }>("collections.create", { name: "things", dimensions: 4 });
      t.match(c, { name: "things", dimensions: 4, metric: "cosine", model: "all-minilm-l6-v2", embedMethod: "embeddings.embed" });
      await call("collections.create", { name: "other", dimensions: 4, metric: "l2" });
      const list = await call<{ collections: Array<{ name: string }>; backend: string }>("collections.list", {});
      t.same(
        list.collections.map((x) => x.name),
        ["other", "things"],
      );
      t.equal(list.backend, backend.name.replace("-approximate", ""));
      const dup = await errorOf(call("collections.create", { name: "things", dimensions: 4 }));
      t.equal(dup.code, -32602);
      t.equal(dup.data?.reason, "collection_exists");
      const bad = await errorOf(call("collections.create", { name: "no spaces!", dimensions: 4 }));
      t.equal(bad.data?.reason, "bad_name");
    });

    await t.test("index with given vectors; stats", async (t) => {
      const r = await call<{ documents: number; chunks: number; ids: string[] }>("index", { collection: "things", documents: DOCS });
      t.same(r, { collection: "things", documents: 5, chunks: 5, ids: DOCS.map((x) => x.id) });
      const s = await call<{ documents: number; chunks: number; metadataFields: string[]; backend: string }>("stats", { collection: "things" });
      t.match(s, { documents: 5, chunks: 5, dimensions: 4, backend: backend.name.replace("-approximate", "") });
      t.same(s.metadataFields, ["kind", "organic", "origin", "price", "tags"]);
    });

    await t.test("full text: stemming, a rare term, highlights, latency", async (t) => {
      const a = await call("query", { collection: "things", query: "zanzibarine", mode: "fts" });
      t.same(ids(a), ["carrot"]);
      t.match(a.results[0], { id: "carrot#0", rank: 1, chunk: { index: 0 } });
      t.ok(a.results[0].highlights[0].includes("**zanzibarine**"), a.results[0].highlights[0]);
      t.ok(a.latencyMs >= 0 && a.latencyMs < 60_000);
      const rocks = await call("query", { collection: "things", query: "the rocks", mode: "fts" });
      t.same(ids(rocks).sort(), ["basalt", "granite"], "'rocks' finds 'rock' (stemming), 'the' is not needed");
      t.same((await call("query", { collection: "things", query: "nothing matches xyzzy", mode: "fts" })).results, []);
      t.same(ids(await call("query", { collection: "things", query: "volcanic rock", mode: "fts" })), ["basalt"], "every word must match by default");
      t.same(ids(await call("query", { collection: "things", query: "volcanic rock", mode: "fts", match: "any" })), ["basalt", "granite"], "match any: one word is enough, more words rank higher");
    });

    await t.test("bkg search: a ranked table, --json, bad options", async (t) => {
      const table = await d.cli(["search", "things", "rock", "--mode", "fts", "--top", "2"]);
      t.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trim().split("\n");
      t.match(lines[0], /^RANK\s+SCORE\s+DOCUMENT\s+CHUNK\s+TEXT/);
      t.match(lines[1], /^1\s+\S+\s+(basalt|granite)\s+0\s+.*\*\*rock\*\*/);
      t.match(lines[2], /^2\s+\S+\s+(basalt|granite)\s+0\s+.*\*\*rock\*\*/);
      t.not(lines[1].split(/\s+/)[2], lines[2].split(/\s+/)[2]);
      t.match(lines[3], /^2 results, fts, [\d.]+ ms$/);
      const json = await d.cli(["search", "things", "zanzibarine", "--mode", "fts", "--json"]);
      t.equal(JSON.parse(json.stdout).results[0].document.id, "carrot");
      const badMode = await d.cli(["search", "things", "x", "--mode", "fuzzy"]);
      t.equal(badMode.code, 2);
      t.match(badMode.stderr, /--mode must be one of fts, vector, hybrid/);
      const missing = await d.cli(["search", "nope", "x"]);
      t.equal(missing.code, 1);
      t.match(missing.stderr, /no collection "nope"; the collections are: other, things/);
    });

    await t.test("vector: nearest first, topK", async (t) => {
      const a = await call("query", { collection: "things", vector: [0, 0, 1, 0], mode: "vector", topK: 2 });
      t.same(ids(a), ["granite", "basalt"]);
      t.ok(a.results[0].score > a.results[1].score);
      t.ok(Math.abs(a.results[0].score - 0.995) < 0.01, `cosine similarity ${a.results[0].score}`);
      const l2 = await call<{ documents: number }>("index", {
        collection: "other",
        documents: [
          { id: "o", text: "origin", embedding: [0, 0, 0, 0] },
          { id: "f", text: "far", embedding: [3, 4, 0, 0] },
        ],
      });
      t.equal(l2.documents, 2);
      const near = await call("query", { collection: "other", vector: [0, 0, 0, 0], mode: "vector" });
      t.same(ids(near), ["o", "f"]);
      t.ok(Math.abs(near.results[1].score - 1 / 6) < 1e-6, "l2 score is 1/(1+distance)");
    });

    await t.test("hybrid: fusion puts what both modes found first", async (t) => {
      // "apple" is best by text, and second by vector after banana for this vector: fused first.
      const a = await call("query", { collection: "things", query: "honeycrisp apple", vector: [0.9, 0.35, 0, 0], topK: 3 });
      t.equal(a.mode, "hybrid");
      t.equal(ids(a)[0], "apple");
      t.match(a.results[0], { ranks: { fts: 1, vector: 2 } });
      t.ok(Math.abs(a.results[0].score - (1 / 61 + 1 / 62)) < 1e-9, "RRF k=60");
      const k1 = await call("query", { collection: "things", query: "honeycrisp apple", vector: [0.9, 0.35, 0, 0], topK: 3, rrfK: 1 });
      t.ok(Math.abs(k1.results[0].score - (1 / 2 + 1 / 3)) < 1e-9, "rrfK is configurable");
      const vOnly = await call("query", { collection: "things", query: "honeycrisp apple", vector: [0.9, 0.35, 0, 0], topK: 3, weights: { fts: 0, vector: 1 } });
      t.equal(ids(vOnly)[0], "banana", "per-mode weights: fts weight 0 leaves the vector order");
    });

    await t.test("filters: every operator", async (t) => {
      const q = async (filters: unknown[]) => ids(await call("query", { collection: "things", vector: [1, 1, 1, 1], mode: "vector", topK: 10, filters })).sort();
      t.same(await q([{ field: "kind", op: "eq", value: "rock" }]), ["basalt", "granite"]);
      t.same(await q([{ field: "kind", op: "ne", value: "rock" }]), ["apple", "banana", "carrot"]);
      t.same(await q([{ field: "price", op: "gt", value: 3 }]), ["basalt", "granite"]);
      t.same(await q([{ field: "price", op: "gte", value: 3 }]), ["apple", "basalt", "granite"]);
      t.same(await q([{ field: "price", op: "lt", value: 2 }]), ["banana"]);
      t.same(await q([{ field: "price", op: "lte", value: 2 }]), ["banana", "carrot"]);
      t.same(await q([{ field: "origin", op: "in", value: ["Norway", "Iceland", "Peru"] }]), ["basalt", "granite"]);
      t.same(await q([{ field: "tags", op: "contains", value: "sweet" }]), ["apple"]);
      t.same(await q([{ field: "origin", op: "contains", value: "land" }]), ["basalt"]);
      t.same(await q([{ field: "organic", op: "eq", value: true }]), ["apple", "carrot"]);
      t.same(await q([{ field: "origin", op: "lt", value: "G" }]), ["banana", "carrot"], "strings compare as strings");
      t.same(
        await q([
          { field: "kind", op: "eq", value: "fruit" },
          { field: "price", op: "lt", value: 2 },
        ]),
        ["banana"],
        "filters are ANDed",
      );
      const fts = await call("query", { collection: "things", query: "rock", mode: "fts", filters: [{ field: "origin", op: "eq", value: "Iceland" }] });
      t.same(ids(fts), ["basalt"], "filters apply to full text too");
    });

    await t.test("bad input: collection, field, operator, value, dimension, missing query", async (t) => {
      const nc = await errorOf(call("query", { collection: "nope", query: "x" }));
      t.equal(nc.data?.reason, "collection_not_found");
      t.match(nc.message, /no collection "nope"; the collections are: other, things/);
      const field = await errorOf(call("query", { collection: "things", query: "x", filters: [{ field: "colour", op: "eq", value: "red" }] }));
      t.equal(field.data?.reason, "unknown_filter_field");
      t.match(field.message, /"colour".*known fields: kind, organic, origin, price, tags/);
      const op = await errorOf(call("query", { collection: "things", query: "x", filters: [{ field: "kind", op: "like", value: "r%" }] }));
      t.equal(op.data?.reason, "unknown_filter_op");
      t.match(op.message, /unknown operator "like"; use one of eq, ne, gt, gte, lt, lte, in, contains/);
      const value = await errorOf(call("query", { collection: "things", query: "x", filters: [{ field: "kind", op: "in", value: "rock" }] }));
      t.equal(value.data?.reason, "bad_filter_value");
      const dim = await errorOf(call("query", { collection: "things", vector: [1, 2, 3], mode: "vector" }));
      t.equal(dim.data?.reason, "dimension_mismatch");
      t.match(dim.message, /3 dimensions; collection "things" holds 4/);
      const docDim = await errorOf(call("index", { collection: "things", documents: [{ id: "x", text: "x", embedding: [1, 2] }] }));
      t.equal(docDim.data?.reason, "dimension_mismatch");
      t.equal(docDim.code, -32602);
      const noQuery = await errorOf(call("query", { collection: "things", mode: "fts" }));
      t.equal(noQuery.data?.reason, "query_missing");
      const schema = await errorOf(call("query", { collection: "things", query: "x", mode: "fuzzy" }));
      t.equal(schema.code, -32602, "the daemon checks the mode against the schema");
    });

    await t.test("upsert replaces a document in every index; delete by id and by filter", async (t) => {
      await call("index", { collection: "things", documents: [{ id: "carrot", text: "Parsnips are pale root vegetables.", metadata: { kind: "vegetable", price: 2 }, embedding: [0.1, 1, 0, 0] }] });
      t.same((await call("query", { collection: "things", query: "zanzibarine", mode: "fts" })).results, [], "the old text is gone from full text");
      t.same(ids(await call("query", { collection: "things", query: "parsnips", mode: "fts" })), ["carrot"]);
      t.match(await call("stats", { collection: "things" }), { documents: 5, chunks: 5 });
      t.same(await call("delete", { collection: "things", ids: ["carrot", "nope"] }), { deleted: 1 });
      t.same((await call("query", { collection: "things", query: "parsnips", mode: "fts" })).results, []);
      t.notOk(ids(await call("query", { collection: "things", vector: [0.1, 1, 0, 0], mode: "vector", topK: 10 })).includes("carrot"), "gone from the vectors");
      t.same(await call("delete", { collection: "things", filters: [{ field: "kind", op: "eq", value: "rock" }] }), { deleted: 2 });
      t.match(await call("stats", { collection: "things" }), { documents: 2, chunks: 2 });
      await call("index", { collection: "things", documents: DOCS });
      t.match(await call("stats", { collection: "things" }), { documents: 5, chunks: 5 });
    });

    await t.test("embeddings plugin down: indexing text fails with nothing written; full text still answers", async (t) => {
      const before = await call("stats", { collection: "things" });
      const e = await errorOf(
        call("index", {
          collection: "things",
          documents: [
            { id: "new", text: "Obsidian is volcanic glass." },
            { id: "apple", text: "changed" },
          ],
        }),
      );
      t.equal(e.code, -33010);
      t.equal(e.data?.reason, "embedding_failed");
      t.match(e.message, /could not embed text for collection "things" with embeddings\.embed.*nothing was written/);
      t.same(await call("stats", { collection: "things" }), before, "nothing half-written");
      t.same(ids(await call("query", { collection: "things", query: "honeycrisp", mode: "fts" })), ["apple"]);
      const hybrid = await call("query", { collection: "things", query: "rock" });
      t.same(ids(hybrid).sort(), ["basalt", "granite"]);
      t.match(hybrid.warnings?.[0], /vector search skipped, full-text results only/);
      const vec = await errorOf(call("query", { collection: "things", query: "volcanic rock", mode: "vector" }));
      t.equal(vec.data?.reason, "embedding_failed");
    });

    await t.test("snapshots: create, list, restore exactly, refuse a newer version or a broken file", async (t) => {
      const snap = await call<{ snapshot: string; path: string; documents: number; chunks: number }>("snapshot.create", { collection: "things" });
      t.match(snap, { documents: 5, chunks: 5 });
      const list = await call<{ snapshots: Array<{ snapshot: string; collection: string; version: number; backend: string }> }>("snapshot.list", {});
      t.match(list.snapshots, [{ snapshot: snap.snapshot, collection: "things", version: 1, backend: backend.name.replace("-approximate", "") }]);
      const r = await call("snapshot.restore", { snapshot: snap.snapshot, collection: "things2" });
      t.match(r, { collection: "things2", documents: 5, chunks: 5 });
      const again = await call<{ path: string }>("snapshot.create", { collection: "things2" });
      t.same(snapshotBody(again.path), snapshotBody(snap.path), "the restored collection snapshots to the same documents, chunks and vector bytes");
      t.same(ids(await call("query", { collection: "things2", query: "zanzibarine", vector: [0.2, 1, 0, 0] }))[0], "carrot");
      const exists = await errorOf(call("snapshot.restore", { snapshot: snap.snapshot }));
      t.equal(exists.data?.reason, "collection_exists");
      t.match(await call("snapshot.restore", { snapshot: snap.snapshot, collection: "things2", replace: true }), { collection: "things2", documents: 5 });

      const dir = mkdtempSync(join(tmpdir(), "bml-snap-"));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      const lines = gunzipSync(readFileSync(snap.path)).toString("utf8").split("\n");
      const header = JSON.parse(lines[0]);
      const newer = join(dir, "newer.bmlsnap.gz");
      writeFileSync(newer, gzipSync([JSON.stringify({ ...header, version: 2 }), ...lines.slice(1)].join("\n")));
      const tooNew = await errorOf(call("snapshot.restore", { snapshot: newer, collection: "from-future" }));
      t.equal(tooNew.data?.reason, "snapshot_too_new");
      t.match(tooNew.message, /format version 2, newer than this BrainML reads \(1\)/);
      const truncated = join(dir, "truncated.bmlsnap.gz");
      writeFileSync(truncated, gzipSync(`${lines.slice(0, 3).join("\n")}\n`));
      const cut = await errorOf(call("snapshot.restore", { snapshot: truncated, collection: "half" }));
      t.equal(cut.data?.reason, "snapshot_corrupt");
      const names = (await call<{ collections: Array<{ name: string }> }>("collections.list", {})).collections.map((c) => c.name);
      t.same(names, ["other", "things", "things2"], "a failed restore leaves no collection behind");
      const missing = await errorOf(call("snapshot.restore", { snapshot: "nope.bmlsnap.gz" }));
      t.equal(missing.data?.reason, "snapshot_not_found");
    });

    await t.test("drop", async (t) => {
      t.same(await call("collections.drop", { name: "other" }), { dropped: true });
      t.equal((await errorOf(call("collections.drop", { name: "other" }))).data?.reason, "collection_not_found");
    });
  });
}

t.test("a snapshot restores into the other backend exactly", async (t) => {
  const sqlite = daemons.sqlite;
  const postgres = daemons.postgres;
  t.ok(sqlite && postgres, "both backends ran");
  if (!sqlite || !postgres) return;
  t.teardown(async () => {
    await sqlite.stop();
    await postgres.stop();
  });
  const dir = mkdtempSync(join(tmpdir(), "bml-cross-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [from, to] of [
    [sqlite, postgres],
    [postgres, sqlite],
  ] as const) {
    const snap = await from.client.call<{ path: string }>("brainml.snapshot.create", { collection: "things" });
    const file = join(dir, `x-${Date.now()}.bmlsnap.gz`);
    copyFileSync(snap.path, file);
    execFileSync("chmod", ["a+r", file]);
    const r = await to.client.call<{ collection: string; documents: number }>("brainml.snapshot.restore", { snapshot: file, collection: "crossed", replace: true });
    t.match(r, { collection: "crossed", documents: 5 });
    const back = await to.client.call<{ path: string }>("brainml.snapshot.create", { collection: "crossed" });
    t.same(snapshotBody(back.path), snapshotBody(snap.path), "same documents, chunks and vector bytes on the other backend");
    const a = await to.client.call<Answer>("brainml.query", { collection: "crossed", query: "volcanic lava", vector: [0, 0.1, 0.9, 0.2] });
    t.equal(a.results[0].document.id, "basalt");
  }
});
