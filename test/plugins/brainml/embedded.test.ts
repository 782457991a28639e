/**
 * BrainML with the real embeddings plugin and the real all-MiniLM-L6-v2 model, on SQLite and on
 * PostgreSQL: a paraphrase is found by vector where full text fails, a rare exact term by full
 * text where the vector barely tells it apart, hybrid puts both first; ingest of every format,
 * with the files that fail listed and the rest indexed; the embeddings plugin stopped.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, ftruncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { onEachBackendWithEmbeddings } from "../../helpers/brainml.js";
import { makePdf } from "../../helpers/pdf.js";

type Answer = { results: Array<{ document: { id: string; metadata: Record<string, unknown> }; score: number; chunk: { text: string; heading?: string } }>; warnings?: string[] };
const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => ({}) as { code?: number; message?: string; data?: { reason?: string } },
    (e) => e as { code: number; message: string; data?: { reason?: string } },
  );

const DOCS = [
  { id: "password", text: "To reset your password, open Settings, choose Security, then press Forgot password and follow the email link." },
  { id: "errcode", text: "Fault QX-7731 on the control board means the coolant valve is stuck; replace the valve assembly." },
  { id: "err2", text: "Fault QX-7713 on the control board means the fan bearing is worn; replace the fan." },
  { id: "err3", text: "Fault QX-7137 on the control board means the coolant sensor is unplugged; reconnect it." },
  { id: "err4", text: "Fault QX-1773 on the control board means the coolant pump is stuck; replace the pump assembly." },
  { id: "billing", text: "Invoices are sent on the first day of each month and can be paid by card or bank transfer." },
  { id: "shipping", text: "Orders ship within two business days; international delivery takes one to three weeks." },
  { id: "returns", text: "You can return an unused item within thirty days for a full refund of the purchase price." },
  { id: "privacy", text: "We never sell personal data; you can download or erase your account data at any time." },
  { id: "login2fa", text: "Two-factor authentication adds a one-time code from an authenticator app when you sign in." },
];

await onEachBackendWithEmbeddings(t, "embedded", async (t, d) => {
  const call = <T = Answer>(m: string, p: Record<string, unknown>) => d.client.call<T>(`brainml.${m}`, p);
  const query = (q: string, mode: string) => call("query", { collection: "kb", query: q, mode, topK: 5 });

  await t.test("a collection asks the embedder for its dimensions", async (t) => {
    t.match(await call("collections.create", { name: "kb" }), { name: "kb", dimensions: 384, metric: "cosine", model: "all-minilm-l6-v2" });
    t.match(await call("index", { collection: "kb", documents: DOCS }), { documents: DOCS.length, chunks: DOCS.length });
  });

  await t.test("a paraphrase: found by vector where full text fails; hybrid ranks it first", async (t) => {
    const q = "lost my credentials, how do I regain entry?";
    t.notOk(
      (await query(q, "fts")).results.some((r) => r.document.id === "password"),
      "no shared word, so full text misses it",
    );
    const v = await query(q, "vector");
    t.equal(v.results[0].document.id, "password");
    t.equal((await query(q, "hybrid")).results[0].document.id, "password");
  });

  await t.test("a rare exact term: full text finds it clearly, the vector barely tells it from its look-alikes; hybrid ranks it first", async (t) => {
    const q = "what does QX-7731 mean";
    const f = await query(q, "fts");
    t.equal(f.results[0].document.id, "errcode");
    t.same(
      f.results.map((r) => r.document.id),
      ["errcode"],
      "only the right fault holds every word",
    );
    const any = await call("query", { collection: "kb", query: q, mode: "fts", match: "any", topK: 5 });
    t.equal(any.results[0].document.id, "errcode");
    t.ok(any.results[0].score > 1.4 * any.results[1].score, `with match any, look-alikes come far behind: ${any.results[0].score} vs ${any.results[1].score}`);
    const v = await query(q, "vector");
    const own = v.results.find((r) => r.document.id === "errcode")!.score;
    const bestOther = Math.max(...v.results.filter((r) => r.document.id !== "errcode").map((r) => r.score));
    t.ok(own - bestOther < 0.05, `vector: the right fault scores ${own.toFixed(3)}, a look-alike ${bestOther.toFixed(3)}`);
    t.equal((await query(q, "hybrid")).results[0].document.id, "errcode");
  });

  await t.test("ingest: every format; the files that fail are listed and the rest indexed", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "bml-ingest-"));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "guide.md"), "# Guide\nWelcome.\n## Installing\nRun the installer and accept the licence.\n## Gardening\nWater tomatoes every morning in summer.\n");
    writeFileSync(join(dir, "notes.txt"), "The lighthouse keeper logs every passing ship in a leather book.");
    writeFileSync(join(dir, "page.html"), "<html><head><title>Bakery</title></head><body><p>Our sourdough bread is baked at dawn.</p></body></html>");
    writeFileSync(join(dir, "config.json"), JSON.stringify({ telescope: { aperture: "200mm", mount: "equatorial" } }));
    writeFileSync(join(dir, "src", "tool.ts"), "// Parses invoices and sums their totals.\nexport function sumInvoices(xs: number[]) { return xs.reduce((a, b) => a + b, 0); }\n");
    writeFileSync(join(dir, "report.pdf"), makePdf([["Quarterly report", "Revenue from glacier tours grew by twelve percent."]], "Q3"));
    writeFileSync(join(dir, "broken.pdf"), "%PDF-1.7\nnot really a pdf at all\n");
    writeFileSync(join(dir, "image.txt"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13]));
    const big = openSync(join(dir, "huge.log"), "w");
    ftruncateSync(big, 2 * 1024 ** 3); // a sparse 2 GiB file: no disk used
    closeSync(big);
    const r = await call<{ indexed: Array<{ id: string; format: string }>; failed: Array<{ path: string; reason: string; error: string }>; chunks: number }>("ingest", {
      collection: "kb",
      paths: [dir, "relative/file.txt", join(dir, "missing.md")],
      metadata: { batch: "ingest-test" },
    });
    t.same(r.indexed.map((x) => `${x.id.slice(dir.length + 1)}:${x.format}`).sort(), [
      "config.json:json",
      "guide.md:markdown",
      "notes.txt:text",
      "page.html:html",
      "report.pdf:pdf",
      "src/tool.ts:code",
    ]);
    const failed = Object.fromEntries(r.failed.map((f) => [f.path.startsWith(dir) ? f.path.slice(dir.length + 1) : f.path, f.reason]));
    t.same(failed, { "relative/file.txt": "bad_path", "missing.md": "unreadable_file", "broken.pdf": "unparsable_pdf", "image.txt": "not_text", "huge.log": "file_too_large" });
    t.match(r.failed.find((f) => f.reason === "file_too_large")!.error, /huge\.log is 2\.0 GiB, over the 64\.0 MiB limit/);
    t.match(r.failed.find((f) => f.reason === "unparsable_pdf")!.error, /broken\.pdf could not be read as a PDF/);
    const pdf = await call("query", { collection: "kb", query: "glacier tours revenue", topK: 1, filters: [{ field: "batch", op: "eq", value: "ingest-test" }] });
    t.match(pdf.results[0].document, { id: join(dir, "report.pdf"), metadata: { format: "pdf", pages: 1, title: "Q3", source: join(dir, "report.pdf") } });
    const md = await call("query", { collection: "kb", query: "when should I water the tomatoes", mode: "vector", topK: 1 });
    t.match(md.results[0], { document: { id: join(dir, "guide.md") }, chunk: { heading: "Guide > Gardening" } });
    t.notMatch(md.results[0].chunk.text, /installer/, "the Markdown chunk holds only its section");
    const code = await call("query", { collection: "kb", query: "sumInvoices", mode: "fts", topK: 1 });
    t.match(code.results[0].document.metadata, { format: "code", language: "typescript" });
    const html = await call("query", { collection: "kb", query: "fresh loaves in the morning", mode: "vector", topK: 1 });
    t.match(html.results[0].document.metadata, { format: "html", title: "Bakery" });
    const json = await call("query", { collection: "kb", query: "telescope aperture", mode: "fts", topK: 1 });
    t.match(json.results[0].chunk.text, /telescope\.aperture: 200mm/);
  });

  await t.test("the embeddings plugin stopped: indexing fails with nothing written, full text answers", async (t) => {
    await d.client.plugins.stop("embeddings");
    const before = await call("stats", { collection: "kb" });
    const e = await errorOf(
      call("index", {
        collection: "kb",
        documents: [
          { id: "new", text: "Brand new text." },
          { id: "password", text: "Overwritten?" },
        ],
      }),
    );
    t.equal(e.data?.reason, "embedding_failed");
    t.match(e.message, /embeddings\.embed.*nothing was written/);
    t.same(await call("stats", { collection: "kb" }), before);
    t.equal((await query("reset password", "fts")).results[0].document.id, "password", "the old text is still there");
    const h = await query("what does QX-7731 mean", "hybrid");
    t.equal(h.results[0].document.id, "errcode");
    t.match(h.warnings?.[0], /vector search skipped/);
    await d.client.plugins.start("embeddings");
    t.match(await call("index", { collection: "kb", documents: [{ id: "new", text: "Brand new text." }] }), { documents: 1 });
  });
});
