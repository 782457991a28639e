/**
 * Checks that text holds one JSON value, without building it: the grammar of RFC 8259 exactly
 * as JSON.parse takes it (the test holds the two to the same verdicts), plus a bound on nesting
 * counted as exceedsDepth counts it (a scalar is depth 0, `{}` depth 1).
 *
 * It allocates nothing, so checking a forwarded message costs a fraction of parsing it
 * (see RawJson).
 */

const OBJECT = 1;
const ARRAY = 2;

/** What each open level is, by depth; grown as needed (scans are synchronous, so one is shared). */
let kinds = new Uint8Array(64);

/** Set by the last scan: a member of the outermost object is named `reservedKey`, or its name has an escape. */
export let scanMetKey = false;

/**
 * The index just past the JSON value that starts at `start` (after optional whitespace), or -1
 * when the text there is not one, or nests deeper than `maxDepth`. What follows the value is
 * not looked at. With `reservedKey`, `scanMetKey` says afterwards whether the outermost
 * object has a member of that name (a name written with escapes counts, unread).
 */
export function scanJsonValue(text: string, start: number, maxDepth: number, reservedKey?: string): number {
  scanMetKey = false;
  if (kinds.length <= maxDepth) kinds = new Uint8Array(maxDepth + 1);
  let depth = 0;
  let i = start;
  for (;;) {
    // A value is expected at i.
    let c = text.charCodeAt(i);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return -1;
      const isObject = c === 0x7b;
      kinds[depth] = isObject ? OBJECT : ARRAY;
      c = text.charCodeAt(++i);
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
      if (c === (isObject ? 0x7d : 0x5d)) {
        i++;
        depth--;
      } else {
        if (isObject) {
          i = memberName(text, i, depth === 1 ? reservedKey : undefined);
          if (i < 0) return -1;
        }
        continue;
      }
    } else if (c === 0x22 /* " */) {
      i = stringEnd(text, i);
      if (i < 0) return -1;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      i = numberEnd(text, i);
      if (i < 0) return -1;
    } else if (c === 0x74 /* t */ && text.startsWith("true", i)) i += 4;
    else if (c === 0x66 /* f */ && text.startsWith("false", i)) i += 5;
    else if (c === 0x6e /* n */ && text.startsWith("null", i)) i += 4;
    else return -1;
    // A value ended at i: a comma goes on to the next one, a bracket closes its level.
    for (;;) {
      if (depth === 0) return i;
      c = text.charCodeAt(i);
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
      const kind = kinds[depth];
      if (c === 0x2c /* , */) {
        i++;
        if (kind === OBJECT) {
          i = memberName(text, i, depth === 1 ? reservedKey : undefined);
          if (i < 0) return -1;
        }
        break;
      }
      if (c !== (kind === OBJECT ? 0x7d : 0x5d)) return -1;
      i++;
      depth--;
    }
  }
}

/** From optional whitespace before a member's name to just past its colon; -1 if there is none. */
function memberName(text: string, i: number, reservedKey: string | undefined): number {
  let c = text.charCodeAt(i);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
  if (c !== 0x22) return -1;
  const end = stringEnd(text, i);
  if (end < 0) return -1;
  if (reservedKey !== undefined && !scanMetKey) {
    const length = end - i - 2;
    if ((length === reservedKey.length && text.startsWith(reservedKey, i + 1)) || text.lastIndexOf("\\", end - 2) > i) scanMetKey = true;
  }
  i = end;
  c = text.charCodeAt(i);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
  return c === 0x3a /* : */ ? i + 1 : -1;
}

/** Just past the string whose opening quote is at i; -1 if it is not a valid JSON string. */
function stringEnd(text: string, i: number): number {
  for (i++; ; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    // Also false for NaN: the text ended inside the string.
    if (!(c >= 0x20)) return -1;
    if (c === 0x5c /* \ */) {
      const e = text.charCodeAt(++i);
      if (e === 0x75 /* u */) {
        if (!(isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2)) && isHex(text.charCodeAt(i + 3)) && isHex(text.charCodeAt(i + 4)))) return -1;
        i += 4;
      } else if (!(e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74)) return -1;
    }
  }
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** Just past the number that starts at i; -1 if it is not a valid JSON number. */
function numberEnd(text: string, i: number): number {
  let c = text.charCodeAt(i);
  if (c === 0x2d) c = text.charCodeAt(++i);
  if (c === 0x30) c = text.charCodeAt(++i);
  else if (c >= 0x31 && c <= 0x39) {
    do c = text.charCodeAt(++i);
    while (c >= 0x30 && c <= 0x39);
  } else return -1;
  if (c === 0x2e /* . */) {
    c = text.charCodeAt(++i);
    if (!(c >= 0x30 && c <= 0x39)) return -1;
    do c = text.charCodeAt(++i);
    while (c >= 0x30 && c <= 0x39);
  }
  if (c === 0x65 || c === 0x45 /* e E */) {
    c = text.charCodeAt(++i);
    if (c === 0x2b || c === 0x2d) c = text.charCodeAt(++i);
    if (!(c >= 0x30 && c <= 0x39)) return -1;
    do c = text.charCodeAt(++i);
    while (c >= 0x30 && c <= 0x39);
  }
  return i;
}
