/**
 * Language-neutral test vectors (vectors/*.json): one request and the answer it must get.
 * A runner in any language can read the same files; this one turns each into a Case.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Case } from "./case.js";
import { expectError, expectResult } from "./expect.js";
import { mismatch, partialMismatch } from "./match.js";
import { fail, isObject, preview } from "./util.js";

export interface VectorErrorExpectation {
  code: number;
  /** Exact message, when given; otherwise any non-empty string. */
  message?: string;
  /** Substrings the message must contain. */
  messageIncludes?: string[];
  /** Exact data, when given. */
  data?: unknown;
}

export interface Vector {
  name: string;
  send: { method: string; params?: Record<string, unknown> };
  /** Exactly one of: `result` (exact), `resultMatches` (partial, `{"$type":...}` wildcards), `error`. */
  expect: { result?: unknown; resultMatches?: unknown; error?: VectorErrorExpectation };
}

export interface VectorFile {
  description?: string;
  cases: Vector[];
}

/** The vectors shipped with this package (../vectors from src/ or dist/). */
export const DEFAULT_VECTORS_DIR = fileURLToPath(new URL("../vectors/", import.meta.url));

/** Reads every vectors/*.json file, checking its shape; returns [file stem, vector] pairs in name order. */
export function loadVectors(dir = DEFAULT_VECTORS_DIR): { group: string; vector: Vector }[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort();
  const out: { group: string; vector: Vector }[] = [];
  for (const f of files) {
    const path = join(dir, f);
    const data: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (!isObject(data) || !Array.isArray(data.cases)) throw new Error(`${path}: expected {"cases": [...]}, got ${preview(data)}`);
    data.cases.forEach((v: unknown, i: number) => {
      const why = vectorProblem(v);
      if (why) throw new Error(`${path}: cases[${i}]: ${why}`);
      out.push({ group: basename(f, ".json"), vector: v as Vector });
    });
  }
  return out;
}

function vectorProblem(v: unknown): string | undefined {
  if (!isObject(v) || typeof v.name !== "string") return `expected {name, send, expect}, got ${preview(v)}`;
  if (!isObject(v.send) || typeof v.send.method !== "string") return `expected send to be {method: string, params?: object}, got ${preview(v.send)}`;
  if (v.send.params !== undefined && !isObject(v.send.params)) return `expected send.params to be an object, got ${preview(v.send.params)}`;
  if (!isObject(v.expect)) return `expected expect to be an object, got ${preview(v.expect)}`;
  const kinds = ["result", "resultMatches", "error"].filter((k) => k in (v.expect as object));
  if (kinds.length !== 1) return `expected exactly one of expect.result, expect.resultMatches, expect.error; got ${kinds.join(", ") || "none"}`;
  const e = v.expect.error;
  if (e !== undefined && (!isObject(e) || !Number.isInteger(e.code))) return `expected expect.error to be {code: integer, ...}, got ${preview(e)}`;
  return undefined;
}

export function vectorCase(group: string, v: Vector): Case {
  return {
    name: `${group}: ${v.name}`,
    async run(h) {
      const what = `${v.send.method} ${preview(v.send.params ?? {}, 60)}`;
      const answer = await h.call(v.send.method, v.send.params ?? {});
      const { expect } = v;
      if (expect.error) {
        const err = expectError(answer, expect.error.code, what);
        if (expect.error.message !== undefined && err.message !== expect.error.message) {
          fail(`expected ${what} to answer message ${JSON.stringify(expect.error.message)}, got ${preview(err.message)}`);
        }
        for (const part of expect.error.messageIncludes ?? []) {
          if (!err.message.includes(part)) fail(`expected the message of ${what}'s error to mention ${JSON.stringify(part)}, got ${preview(err.message)}`);
        }
        if ("data" in expect.error) {
          if (!("data" in err)) fail(`expected ${what}'s error to carry data ${preview(expect.error.data)}, it has no data`);
          const m = mismatch(expect.error.data, err.data, "error.data");
          if (m) fail(`${what}: ${m}`);
        }
        return;
      }
      const result = expectResult(answer, what);
      const m = "result" in expect ? mismatch(expect.result, result, "result") : partialMismatch(expect.resultMatches, result, "result");
      if (m) fail(`${what}: ${m}`);
    },
  };
}
