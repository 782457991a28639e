/**
 * Heading-aware chunking for Markdown: the text is cut at ATX headings (# .. ######, not inside
 * ``` or ~~~ fences) into sections; each section is chunked on its own and its chunks carry the
 * heading path ("Install > From source"), so no chunk mixes two sections.
 */
import { chunkText, type ChunkOptions, type TextChunk } from "./chunker.js";

export function chunkMarkdown(text: string, options: ChunkOptions): TextChunk[] {
  const lines = text.split("\n");
  const path: string[] = [];
  const out: TextChunk[] = [];
  let section: string[] = [];
  let heading: string | undefined;
  let fence: string | undefined;
  const flush = () => {
    const body = section.join("\n");
    if (body.trim()) out.push(...chunkText(body, options, heading));
    section = [];
  };
  for (const line of lines) {
    const f = /^\s{0,3}(```|~~~)/.exec(line);
    if (f) fence = fence === undefined ? f[1] : fence === f[1] ? undefined : fence;
    const h = fence === undefined && !f ? /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line) : null;
    if (h) {
      flush();
      const level = h[1].length;
      path.length = Math.min(path.length, level - 1);
      while (path.length < level - 1) path.push("");
      path.push(h[2]);
      heading = path.filter(Boolean).join(" > ");
    }
    section.push(line);
  }
  flush();
  return out;
}
