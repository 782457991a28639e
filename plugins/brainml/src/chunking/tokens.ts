/**
 * The tokens chunking counts: words (letters and digits) and single punctuation marks, with their
 * character offsets. WordPiece models split rare words further (about 1.3 pieces a word in English
 * prose), so the default chunk size leaves room under MiniLM's 256-token window.
 */
export interface Token {
  start: number;
  end: number;
}

const TOKEN = /[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu;

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(TOKEN)) out.push({ start: m.index!, end: m.index! + m[0].length });
  return out;
}

const STOP = new Set(
  "a an and are as at be been but by can do does for from had has have how i if in into is it its of on or so such than that the their them then there these they this to was were what when where which who why will with you your".split(
    " ",
  ),
);

/** The search terms of a query: lower-cased words, stop words dropped (all of them when nothing else is left), duplicates removed. */
export function queryTerms(query: string): string[] {
  const words = [...query.toLowerCase().matchAll(/[\p{L}\p{N}_]+/gu)].map((m) => m[0]);
  const kept = words.filter((w) => !STOP.has(w));
  return [...new Set(kept.length ? kept : words)];
}
