/**
 * Splits text into overlapping windows of tokens. A window ends at the last sentence end in its
 * second half when there is one, so chunks rarely cut a sentence; the next window starts
 * `overlap` tokens before that end. Markdown is split at headings first (see markdown.ts).
 */
import { tokenize } from "./tokens.js";

export interface ChunkOptions {
  /** Tokens per chunk (words and punctuation marks). */
  size: number;
  /** Tokens shared by consecutive chunks. */
  overlap: number;
}

export interface TextChunk {
  text: string;
  heading?: string;
}

export const DEFAULT_CHUNKING: ChunkOptions = { size: 180, overlap: 30 };

export function chunkText(text: string, options: ChunkOptions = DEFAULT_CHUNKING, heading?: string): TextChunk[] {
  const size = Math.max(8, options.size);
  const overlap = Math.min(Math.max(0, options.overlap), Math.floor(size / 2));
  const tokens = tokenize(text);
  if (tokens.length === 0) return [];
  if (tokens.length <= size) return [withHeading(text.slice(tokens[0].start, tokens.at(-1)!.end), heading)];
  const chunks: TextChunk[] = [];
  let from = 0;
  for (;;) {
    let to = Math.min(from + size, tokens.length); // exclusive
    if (to < tokens.length) {
      for (let i = to - 1; i > from + size / 2; i--) {
        const ch = text[tokens[i].start];
        if (ch === "." || ch === "!" || ch === "?" || text.slice(tokens[i].end, tokens[i + 1].start).includes("\n\n")) {
          to = i + 1;
          break;
        }
      }
    }
    chunks.push(withHeading(text.slice(tokens[from].start, tokens[to - 1].end), heading));
    if (to >= tokens.length) return chunks;
    from = Math.max(from + 1, to - overlap);
  }
}

function withHeading(text: string, heading: string | undefined): TextChunk {
  return heading ? { text, heading } : { text };
}
