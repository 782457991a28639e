/**
 * Turns a file's bytes into plain text (and a title where the format has one). PDF text comes
 * from Mozilla's PDF.js (pdfjs-dist, its Node "legacy" build); HTML from html-to-text.
 */
import { convert } from "html-to-text";
import { brainError, messageOf } from "../errors.js";
import type { Format } from "./formats.js";

export interface Extracted {
  text: string;
  title?: string;
  pages?: number;
}

/** Decodes UTF-8 text, refusing binary data (a NUL byte, or bytes that are not UTF-8). */
export function decodeText(bytes: Uint8Array, name: string): string {
  const head = bytes.subarray(0, 8192);
  if (head.includes(0)) throw brainError("not_text", `${name} is not a text file (it holds NUL bytes); BrainML reads .txt .md .html .json, source code and PDF`, { path: name });
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/^\uFEFF/, "");
  } catch {
    throw brainError("not_text", `${name} is not a text file (it is not valid UTF-8); BrainML reads .txt .md .html .json, source code and PDF`, { path: name });
  }
}

export async function extract(bytes: Uint8Array, format: Format, name: string): Promise<Extracted> {
  switch (format) {
    case "pdf":
      return extractPdf(bytes, name);
    case "html": {
      const html = decodeText(bytes, name);
      const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1]?.trim();
      const text = convert(html, {
        wordwrap: false,
        selectors: [
          { selector: "a", options: { ignoreHref: true } },
          { selector: "img", format: "skip" },
        ],
      });
      return title ? { text, title } : { text };
    }
    case "json": {
      const raw = decodeText(bytes, name);
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (e) {
        throw brainError("unreadable_file", `${name} is not valid JSON: ${messageOf(e)}`, { path: name });
      }
      return { text: flattenJson(value) };
    }
    default:
      return { text: decodeText(bytes, name) };
  }
}

/** One line per leaf, "a.b[2].c: value", so keys are searchable next to their values. */
export function flattenJson(value: unknown, path = ""): string {
  if (value === null || typeof value !== "object") return `${path || "value"}: ${typeof value === "string" ? value : JSON.stringify(value)}`;
  const entries = Array.isArray(value) ? value.map((v, i) => [`${path}[${i}]`, v] as const) : Object.entries(value).map(([k, v]) => [path ? `${path}.${k}` : k, v] as const);
  return entries.map(([p, v]) => flattenJson(v, p)).join("\n");
}

async function extractPdf(bytes: Uint8Array, name: string): Promise<Extracted> {
  const pdfjs = await import("pdfjs-dist/legacy/build/pdf.mjs");
  let doc: Awaited<ReturnType<typeof pdfjs.getDocument>["promise"]> | undefined;
  try {
    // PDF.js takes ownership of the buffer it is given: hand it a copy.
    doc = await pdfjs.getDocument({ data: new Uint8Array(bytes), useSystemFonts: false, isEvalSupported: false, verbosity: 0 }).promise;
    const pages: string[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      let line = "";
      const lines: string[] = [];
      for (const item of content.items) {
        if (!("str" in item)) continue;
        line += item.str;
        if (item.hasEOL) {
          lines.push(line);
          line = "";
        }
      }
      if (line) lines.push(line);
      pages.push(lines.join("\n"));
      page.cleanup();
    }
    const meta = (await doc.getMetadata().catch(() => undefined))?.info as { Title?: string } | undefined;
    const text = pages.join("\n\n");
    if (!text.trim()) throw new Error("it has no extractable text (a scanned PDF needs OCR first)");
    return { text, pages: doc.numPages, ...(meta?.Title ? { title: meta.Title } : {}) };
  } catch (e) {
    throw brainError("unparsable_pdf", `${name} could not be read as a PDF: ${messageOf(e)}`, { path: name });
  } finally {
    await doc?.destroy();
  }
}
