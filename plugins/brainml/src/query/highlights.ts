/**
 * Highlights: up to three snippets of a chunk around words that match the query's terms, the
 * matches wrapped in ** (Markdown bold). A word matches a term when they share a stem: the term
 * minus a common English suffix is a prefix of the word (so "index" marks "indexing").
 */
const WORD = /[\p{L}\p{N}_]+/gu;
const stem = (w: string) => w.replace(/(ing|edly|ed|es|s|ly|er|ers|ion|ions)$/u, "");

export function highlight(text: string, terms: string[], max = 3, radius = 60): string[] {
  const stems = terms.map((t) => stem(t.toLowerCase())).filter((s) => s.length >= 2);
  if (stems.length === 0) return [];
  const matches: Array<{ start: number; end: number }> = [];
  for (const m of text.matchAll(WORD)) {
    const w = m[0].toLowerCase();
    if (stems.some((s) => w.startsWith(s) && w.length - s.length <= 4)) matches.push({ start: m.index!, end: m.index! + m[0].length });
  }
  const out: string[] = [];
  let i = 0;
  while (i < matches.length && out.length < max) {
    const from = Math.max(0, matches[i].start - radius);
    let to = Math.min(text.length, matches[i].end + radius);
    let j = i;
    while (j + 1 < matches.length && matches[j + 1].start < to) {
      j++;
      to = Math.min(text.length, Math.max(to, matches[j].end + radius / 2));
    }
    let snippet = "";
    let at = from;
    for (let m = i; m <= j; m++) {
      snippet += `${text.slice(at, matches[m].start)}**${text.slice(matches[m].start, matches[m].end)}**`;
      at = matches[m].end;
    }
    snippet += text.slice(at, to);
    out.push((from > 0 ? "…" : "") + snippet.replace(/\s+/g, " ").trim() + (to < text.length ? "…" : ""));
    i = j + 1;
  }
  return out;
}
