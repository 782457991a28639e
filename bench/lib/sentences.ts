/**
 * Real English sentences for the retrieval benchmarks: taken from the Markdown files (not changelogs) under
 * node_modules and the repository's docs (sorted paths, so every run on the same install gets
 * the same list), 6 to 50 words, no Markdown or code, no duplicates.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./paths.js";

function readmes(): string[] {
  const out: string[] = [];
  const nm = join(ROOT, "node_modules");
  const visit = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isFile() && /\.md$/i.test(e.name) && !/^changelog/i.test(e.name)) out.push(join(dir, e.name));
      else if (e.isDirectory() && depth < 6 && !e.name.startsWith(".") && !["test", "tests", "dist", "lib", "src", "build"].includes(e.name)) visit(join(dir, e.name), depth + 1);
    }
  };
  visit(nm, 0);
  const docs = join(ROOT, "docs");
  if (existsSync(docs)) for (const f of readdirSync(docs).sort()) if (f.endsWith(".md")) out.push(join(docs, f));
  return out;
}

export function realSentences(max: number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const file of readmes()) {
    const text = readFileSync(file, "utf8")
      .replace(/```[\s\S]*?```/g, " ")
      .replace(/`[^`]*`/g, " ")
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/<[^>]+>/g, " ");
    for (const line of text.split(/\n\s*\n/)) {
      if (/^\s*(#|\||>)/.test(line)) continue;
      for (const s of line.replace(/^\s*([-*]|\d+\.)\s+/gm, "").replace(/\s+/g, " ").split(/(?<=[.!?])\s+(?=[A-Z])/)) {
        const words = s.trim().split(" ");
        if (words.length < 6 || words.length > 50 || !/^[A-Z][^`|#*_<>{}\[\]]+[.!?]$/.test(s.trim())) continue;
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
