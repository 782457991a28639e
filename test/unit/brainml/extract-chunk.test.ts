/** BrainML's text extraction (PDF through pdfjs-dist, HTML, JSON, binary refusal) and chunking, on the plugin's own modules. */
import t from "tap";
import { chunkText } from "../../../plugins/brainml/src/chunking/chunker.js";
import { chunkMarkdown } from "../../../plugins/brainml/src/chunking/markdown.js";
import { queryTerms, tokenize } from "../../../plugins/brainml/src/chunking/tokens.js";
import { decodeText, extract } from "../../../plugins/brainml/src/ingest/extract.js";
import { formatOf } from "../../../plugins/brainml/src/ingest/formats.js";
import { reciprocalRankFusion } from "../../../plugins/brainml/src/query/fusion.js";
import { highlight } from "../../../plugins/brainml/src/query/highlights.js";
import { makePdf } from "../../helpers/pdf.js";

const reasonOf = (e: unknown) => (e as { data?: { reason?: string } }).data?.reason;

t.test("PDF: text of every page, in order, and the title", async (t) => {
  const pdf = makePdf([["Quarterly report (draft)", "Revenue grew by 12 percent."], ["Second page: the outlook."]], "Q3 Report");
  const out = await extract(pdf, "pdf", "report.pdf");
  t.equal(out.pages, 2);
  t.equal(out.title, "Q3 Report");
  t.match(out.text, /Quarterly report \(draft\)\s*\nRevenue grew by 12 percent\.[\s\S]*Second page: the outlook\./);
});

t.test("PDF that cannot be parsed: a clear error naming the file", async (t) => {
  const e = await extract(Buffer.from("%PDF-1.4\nthis is not really a pdf\n"), "pdf", "/x/broken.pdf").catch((x) => x);
  t.equal(reasonOf(e), "unparsable_pdf");
  t.match(e.message, /^\/x\/broken\.pdf could not be read as a PDF: /);
  const empty = await extract(makePdf([[]]), "pdf", "/x/scan.pdf").catch((x) => x);
  t.equal(reasonOf(empty), "unparsable_pdf");
  t.match(empty.message, /no extractable text/);
});

t.test("HTML, JSON, binary", async (t) => {
  const html = await extract(
    Buffer.from("<html><head><title>Hi</title><style>p{}</style></head><body><h1>Welcome</h1><p>Hello <b>there</b> <a href='/x'>link</a></p><script>evil()</script></body></html>"),
    "html",
    "a.html",
  );
  t.equal(html.title, "Hi");
  t.match(html.text, /WELCOME|Welcome/);
  t.match(html.text, /Hello there link/);
  t.notMatch(html.text, /evil|p\{\}/);
  const json = await extract(Buffer.from(JSON.stringify({ name: "bkg", tags: ["a", "b"], nested: { n: 1 } })), "json", "a.json");
  t.equal(json.text, "name: bkg\ntags[0]: a\ntags[1]: b\nnested.n: 1");
  t.equal(reasonOf(await extract(Buffer.from("{oops"), "json", "b.json").catch((x) => x)), "unreadable_file");
  t.equal(
    reasonOf(
      (() => {
        try {
          decodeText(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]), "a.out");
        } catch (e) {
          return e;
        }
      })(),
    ),
    "not_text",
  );
  t.equal(
    reasonOf(
      (() => {
        try {
          decodeText(Buffer.from([0xc3, 0x28, 0x41]), "latin.txt");
        } catch (e) {
          return e;
        }
      })(),
    ),
    "not_text",
  );
  t.same(formatOf("/a/b.tsx"), { format: "code", language: "typescript" });
  t.same(formatOf("/a/README.MD"), { format: "markdown" });
  t.equal(formatOf("/a/photo.jpg"), undefined);
});

t.test("chunking: windows of tokens with overlap, ending at sentences", async (t) => {
  const sentence = (i: number) => `Sentence number ${i} says something about topic ${i}.`;
  const text = Array.from({ length: 60 }, (_, i) => sentence(i)).join(" ");
  const chunks = chunkText(text, { size: 50, overlap: 10 });
  t.ok(chunks.length > 5);
  for (const c of chunks) t.ok(tokenize(c.text).length <= 50, `chunk of ${tokenize(c.text).length} tokens`);
  for (const c of chunks.slice(0, -1)) t.match(c.text, /\.$/, "a chunk ends at a sentence end");
  for (let i = 1; i < chunks.length; i++) {
    const prevTail = chunks[i - 1].text.slice(-20);
    t.ok(chunks[i].text.includes(prevTail.trim().split(" ").at(-1)!), "consecutive chunks overlap");
  }
  t.same(chunkText("short text", { size: 50, overlap: 10 }), [{ text: "short text" }]);
  t.same(chunkText("   ", { size: 50, overlap: 10 }), []);
});

t.test("Markdown: chunks never cross a heading and carry the heading path", async (t) => {
  const md = ["# Guide", "Intro text.", "## Install", "Run npm install.", "```sh", "# not a heading", "```", "### From source", "Clone it.", "## Use", "Call it."].join("\n");
  const chunks = chunkMarkdown(md, { size: 100, overlap: 10 });
  t.same(
    chunks.map((c) => c.heading),
    ["Guide", "Guide > Install", "Guide > Install > From source", "Guide > Use"],
  );
  t.match(chunks[1].text, /Run npm install\.[\s\S]*# not a heading/);
  t.notMatch(chunks[1].text, /Clone/);
});

t.test("query terms, highlights, fusion", async (t) => {
  t.same(queryTerms("How do I reset the Password?"), ["reset", "password"]);
  t.same(queryTerms("the"), ["the"], "a query of only stop words keeps them");
  t.same(highlight("Indexing documents: the index is rebuilt nightly.", ["index"]), ["**Indexing** documents: the **index** is rebuilt nightly."]);
  const fused = reciprocalRankFusion(
    {
      fts: [
        { docId: "a", index: 0, score: 9 },
        { docId: "b", index: 0, score: 5 },
      ],
      vector: [
        { docId: "b", index: 0, score: 0.9 },
        { docId: "c", index: 0, score: 0.8 },
      ],
    },
    60,
    { fts: 1, vector: 1 },
  );
  t.same(
    fused.map((h) => h.docId),
    ["b", "a", "c"],
  );
  t.equal(fused[0].score, 1 / 62 + 1 / 61);
});
