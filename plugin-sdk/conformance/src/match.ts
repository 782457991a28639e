/**
 * Comparing what a plugin answered with what a vector expects. Each function returns
 * undefined when the value fits, else one sentence naming the first place it does not:
 * `at $.a[2]: expected 1, got "1"`.
 */
import { isObject, preview } from "./util.js";

/** Exact JSON equality (key order ignored). */
export function mismatch(expected: unknown, actual: unknown, path = "$"): string | undefined {
  return compare(expected, actual, path, false);
}

/**
 * Partial match: objects in `expected` list the keys that must be present (others may be),
 * arrays and scalars must be equal, and `{"$type": "number"}` (or string, boolean, object,
 * array, null) accepts any value of that JSON type.
 */
export function partialMismatch(expected: unknown, actual: unknown, path = "$"): string | undefined {
  return compare(expected, actual, path, true);
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function compare(expected: unknown, actual: unknown, path: string, partial: boolean): string | undefined {
  if (partial && isObject(expected) && typeof expected.$type === "string" && Object.keys(expected).length === 1) {
    return jsonType(actual) === expected.$type ? undefined : `at ${path}: expected any ${expected.$type}, got ${preview(actual)}`;
  }
  const et = jsonType(expected);
  const at = jsonType(actual);
  if (et !== at) return `at ${path}: expected ${preview(expected)}, got ${preview(actual)}`;
  if (Array.isArray(expected)) {
    const a = actual as unknown[];
    if (a.length !== expected.length) {
      return `at ${path}: expected an array of ${expected.length} items, got ${a.length} items: ${preview(actual)}`;
    }
    for (let i = 0; i < expected.length; i++) {
      const m = compare(expected[i], a[i], `${path}[${i}]`, partial);
      if (m) return m;
    }
    return undefined;
  }
  if (et === "object") {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    for (const key of Object.keys(e)) {
      const sub = `${path}.${key}`;
      if (!Object.hasOwn(a, key)) return `at ${sub}: expected ${preview(e[key])}, the key is missing`;
      const m = compare(e[key], a[key], sub, partial);
      if (m) return m;
    }
    if (!partial) {
      const extra = Object.keys(a).filter((k) => !Object.hasOwn(e, k));
      if (extra.length > 0) return `at ${path}: unexpected key${extra.length > 1 ? "s" : ""} ${extra.map((k) => JSON.stringify(k)).join(", ")}`;
    }
    return undefined;
  }
  if (expected !== actual) {
    if (typeof expected === "string" && typeof actual === "string") return `at ${path}: expected ${stringDiff(expected, actual)}`;
    return `at ${path}: expected ${preview(expected)}, got ${preview(actual)}`;
  }
  return undefined;
}

/** For long or near-identical strings, point at the first differing code point. */
function stringDiff(expected: string, actual: string): string {
  if (expected.length <= 60 && actual.length <= 60) return `${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  const e = [...expected];
  const a = [...actual];
  let i = 0;
  while (i < e.length && i < a.length && e[i] === a[i]) i++;
  return `a string of ${e.length} code points, got ${a.length} code points, first difference at code point ${i}: expected ${JSON.stringify(e.slice(i, i + 8).join(""))}, got ${JSON.stringify(a.slice(i, i + 8).join(""))}`;
}
