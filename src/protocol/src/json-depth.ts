/**
 * How deeply a parsed JSON value nests. JSON.parse accepts any depth, but JSON.stringify,
 * schema validators and every other recursive walk overflow the stack somewhere past a few
 * thousand levels, so deep values are refused where they enter instead of failing wherever
 * they are next encoded.
 */

/** The default bound on nesting: far past any real params or result, far below a stack overflow. */
export const DEFAULT_MAX_JSON_DEPTH = 128;

/**
 * True when `value` nests more than `maxDepth` arrays/objects deep (a scalar is depth 0,
 * `{}` depth 1). Stops at the first path past the bound, so its cost is bounded by the
 * value's size and its recursion by maxDepth.
 */
export function exceedsDepth(value: unknown, maxDepth: number): boolean {
  return deeper(value, maxDepth);
}

function deeper(v: unknown, left: number): boolean {
  if (typeof v !== "object" || v === null) return false;
  if (left <= 0) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x === "object" && x !== null && deeper(x, left - 1)) return true;
    }
    return false;
  }
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (typeof x === "object" && x !== null && deeper(x, left - 1)) return true;
  }
  return false;
}
