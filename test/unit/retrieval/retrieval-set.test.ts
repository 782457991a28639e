/**
 * The judged retrieval set is what generate.mjs makes, big enough (>= 200 documents, >= 50
 * queries), consistently judged, and each query kind is what it claims: an exact-term query's code
 * is in its answer and in no other document; a paraphrase shares few content words with its answer.
 */
import t from "tap";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadRetrievalSet, RETRIEVAL_DIR } from "../../helpers/retrieval-set.js";

const set = loadRetrievalSet();
const docs = new Map(set.documents.map((d) => [d.id, d]));

t.test("the committed files are what generate.mjs writes", async (t) => {
  const { render } = (await import(join(RETRIEVAL_DIR, "generate.mjs"))) as { render(): Record<string, string> };
  for (const [file, text] of Object.entries(render())) {
    t.equal(readFileSync(join(RETRIEVAL_DIR, file), "utf8"), text, `${file} is current (run node test/fixtures/retrieval/generate.mjs)`);
  }
});

t.test("size and judgements", async (t) => {
  t.ok(set.documents.length >= 200, `${set.documents.length} documents`);
  t.ok(set.queries.length >= 50, `${set.queries.length} queries`);
  t.equal(docs.size, set.documents.length, "document ids are unique");
  t.same(Object.keys(set.qrels).sort(), set.queries.map((q) => q.id).sort(), "every query is judged, nothing else");
  for (const q of set.queries) {
    const grades = Object.entries(set.qrels[q.id]);
    t.ok(
      grades.every(([id]) => docs.has(id)),
      `${q.id} judges existing documents`,
    );
    t.equal(grades.filter(([, g]) => g === 2).length, 1, `${q.id} has one answer`);
    t.ok(
      grades.every(([id, g]) => g === 2 || docs.get(id)!.topic === q.topic),
      `${q.id}: grade 1 only within its topic`,
    );
    if (q.kind === "exact-term") t.equal(grades.length, 1, `${q.id} judges only its answer`);
  }
  t.equal(set.queries.filter((q) => q.kind === "exact-term").length, set.queries.filter((q) => q.kind === "paraphrase").length);
});

const words = (s: string) => new Set(s.toLowerCase().match(/[a-z0-9]+/g) ?? []);
const STOP = new Set("a an the to of in on for and or is it my i me how do does what why when so can be by with from at your you we our up into are should first after before not".split(" "));

t.test("exact-term queries name a code only their answer holds", async (t) => {
  for (const q of set.queries.filter((q) => q.kind === "exact-term")) {
    const answer = Object.entries(set.qrels[q.id]).find(([, g]) => g === 2)![0];
    // The code is the query's last word with a digit in it (MI-480Q fault F27: F27).
    const code = q.text.split(" ").findLast((w) => /\d/.test(w))!;
    t.ok(code, `${q.id} names a code`);
    const holders = set.documents.filter((d) => d.text.includes(code)).map((d) => d.id);
    t.same(holders, [answer], `${q.id}: "${code}" is only in ${answer}`);
  }
});

t.test("paraphrase queries share at most one content word with their answer", async (t) => {
  for (const q of set.queries.filter((q) => q.kind === "paraphrase")) {
    const answer = Object.entries(set.qrels[q.id]).find(([, g]) => g === 2)![0];
    const a = words(docs.get(answer)!.text);
    const shared = [...words(q.text)].filter((w) => !STOP.has(w) && a.has(w));
    t.ok(shared.length <= 1, `${q.id} shares ${JSON.stringify(shared)} with ${answer}`);
  }
});
