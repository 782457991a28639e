/**
 * Real English sentences for the retrieval benchmarks: taken from the Markdown files (not changelogs) under
 * node_modules and the repository's docs (sorted paths, so every run on the same install gets
 * the same list), 6 to 50 words, no Markdown or code, no duplicates.
 */
import { type Dirent, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./paths.js";

/**
 * Files under node_modules that `wanted` accepts, in a fixed order (entries sorted by name, depth
 * first), going into folders up to `maxDepth` deep that `enter` accepts. The order matters: the
 * benchmark corpora, and the embedding cache keyed by their texts, depend on it.
 */
function nodeModulesFiles(maxDepth: number, wanted: (name: string) => boolean, enter: (name: string) => boolean): string[] {
  const out: string[] = [];
  const visit = (dir: string, depth: number) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isFile() && wanted(e.name)) out.push(join(dir, e.name));
      else if (e.isDirectory() && depth < maxDepth && !e.name.startsWith(".") && enter(e.name)) visit(join(dir, e.name), depth + 1);
    }
  };
  visit(join(ROOT, "node_modules"), 0);
  return out;
}

const NOT_PROSE_FOLDERS = new Set(["test", "tests", "dist", "lib", "src", "build"]);

function readmes(withDocs: boolean): string[] {
  const out = nodeModulesFiles(
    6,
    (name) => /\.md$/i.test(name) && !/^changelog/i.test(name),
    (name) => !NOT_PROSE_FOLDERS.has(name),
  );
  const docs = join(ROOT, "docs");
  if (withDocs && existsSync(docs)) for (const f of readdirSync(docs).sort()) if (f.endsWith(".md")) out.push(join(docs, f));
  return out;
}

/** A sentence worth keeping: 6 to 50 words, starts with a capital, ends a sentence, no Markdown or code left. */
function keep(s: string): boolean {
  const words = s.split(" ");
  return words.length >= 6 && words.length <= 50 && /^[A-Z][^`|#*_<>{}[\]]+[.!?]$/.test(s);
}

/** .d.ts files under node_modules, sorted (their doc comments are English prose: @types/node, TypeScript's lib). */
function declarationFiles(): string[] {
  return nodeModulesFiles(
    8,
    (name) => name.endsWith(".d.ts"),
    () => true,
  );
}

/** Sentences of the /** ... *\/ comments of .d.ts files (the prose before the first @tag). */
function docCommentSentences(seen: Set<string>, max: number, out: string[]): void {
  for (const file of declarationFiles()) {
    for (const m of readFileSync(file, "utf8").matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
      const prose = m[1]
        .replace(/^\s*\*\s?/gm, "")
        .replace(/@\w+[\s\S]*/, "")
        .replace(/\{@link\s+([^}|]*)[^}]*\}/g, "$1")
        .replace(/`[^`]*`/g, " ")
        .replace(/\s+/g, " ");
      for (const raw of prose.split(/(?<=[.!?])\s+(?=[A-Z])/)) {
        const s = raw.trim();
        const key = s.toLowerCase();
        if (!keep(s) || seen.has(key)) continue;
        seen.add(key);
        out.push(s);
        if (out.length >= max) return;
      }
    }
  }
}

/**
 * Up to `max` real sentences: the Markdown sentences of realSentences under node_modules only, then those of the doc
 * comments in node_modules' .d.ts files (~56k in all on this repository's install).
 */
export function moreRealSentences(max: number): string[] {
  // Not the repository's docs: they change with every commit, and the corpus must stay the same
  // for the vectors cached under its texts' hash to be found again (node_modules is pinned by the lockfile).
  const out = realSentences(max, false);
  if (out.length < max) docCommentSentences(new Set(out.map((s) => s.toLowerCase())), max, out);
  return out;
}

/**
 * A retrieval corpus of `chunks` real texts and `queries` held-out real sentences. Queries are
 * every 97th sentence (spread over the sources); the chunks are the other sentences, then, when
 * more are needed, each sentence joined with the next one of the list (mostly the same file:
 * a two-sentence chunk as a chunker with overlap makes). Every text is distinct and real.
 */
export function retrievalCorpus(chunks: number, queries: number): { chunks: string[]; queries: string[] } {
  // Enough sentences that every 97th gives all the queries, even for a small corpus.
  const all = moreRealSentences(Math.max(chunks + queries, queries * 97 + 1));
  const q: string[] = [];
  const rest: string[] = [];
  all.forEach((s, i) => (i % 97 === 0 && q.length < queries ? q : rest).push(s));
  const out = rest.slice(0, chunks);
  for (let i = 0; out.length < chunks && i + 1 < rest.length; i++) out.push(`${rest[i]} ${rest[i + 1]}`);
  return { chunks: out, queries: q };
}

export function realSentences(max: number, withDocs = true): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const file of readmes(withDocs)) {
    const text = readFileSync(file, "utf8")
      .replace(/```[\s\S]*?```/g, " ")
      .replace(/`[^`]*`/g, " ")
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/<[^>]+>/g, " ");
    for (const line of text.split(/\n\s*\n/)) {
      if (/^\s*(#|\||>)/.test(line)) continue;
      for (const s of line
        .replace(/^\s*([-*]|\d+\.)\s+/gm, "")
        .replace(/\s+/g, " ")
        .split(/(?<=[.!?])\s+(?=[A-Z])/)) {
        if (!keep(s.trim())) continue;
        const key = s.trim().toLowerCase();
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(s.trim());
        if (out.length >= max) return out;
      }
    }
  }
  return out;
}
