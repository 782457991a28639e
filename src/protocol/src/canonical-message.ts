/**
 * Recognises messages written in the order bkg's own peers write them —
 * `{"jsonrpc":"2.0","id":…,"method":"…","params":…}` and `{"jsonrpc":"2.0","id":…,"result":…}`
 * — from their text, so that a forwarded value can pass through as RawJson. Anything else
 * (another key order, whitespace, an escape in the method) is simply not matched and takes the
 * parsing path: matching is an optimisation, never a second grammar.
 */

const PREFIX = '{"jsonrpc":"2.0","id":';
const RESULT = ',"result":';
const METHOD = ',"method":"';
const PARAMS = ',"params":';
/** More digits than this may not be a safe integer. */
const MAX_ID_DIGITS = 15;

export interface CanonicalResponse {
  id: number;
  /** Where the result's text begins. */
  resultAt: number;
}

export interface CanonicalRequest {
  id: number | string;
  method: string;
  /** Where the params' text begins. */
  paramsAt: number;
}

/** The id and result position of `{"jsonrpc":"2.0","id":<integer>,"result":…`, else undefined. */
export function matchResponse(body: string): CanonicalResponse | undefined {
  if (!body.startsWith(PREFIX)) return undefined;
  const idEnd = integerEnd(body, PREFIX.length);
  if (idEnd < 0 || !body.startsWith(RESULT, idEnd)) return undefined;
  return { id: Number(body.slice(PREFIX.length, idEnd)), resultAt: idEnd + RESULT.length };
}

/**
 * The id, method and params position of `{"jsonrpc":"2.0","id":<integer or plain string>,
 * "method":"<plain string>","params":…`, else undefined. "Plain": no escapes, no control characters.
 */
export function matchRequest(body: string): CanonicalRequest | undefined {
  if (!body.startsWith(PREFIX)) return undefined;
  let at = PREFIX.length;
  let id: number | string;
  if (body.charCodeAt(at) === 0x22) {
    const end = plainStringEnd(body, at + 1);
    if (end < 0) return undefined;
    id = body.slice(at + 1, end);
    at = end + 1;
  } else {
    const end = integerEnd(body, at);
    if (end < 0) return undefined;
    id = Number(body.slice(at, end));
    at = end;
  }
  if (!body.startsWith(METHOD, at)) return undefined;
  at += METHOD.length;
  const methodEnd = plainStringEnd(body, at);
  if (methodEnd < 0 || !body.startsWith(PARAMS, methodEnd + 1)) return undefined;
  return { id, method: body.slice(at, methodEnd), paramsAt: methodEnd + 1 + PARAMS.length };
}

/** Just past a non-negative JSON integer starting at i (no leading zero), else -1. */
function integerEnd(s: string, i: number): number {
  const first = s.charCodeAt(i);
  if (first === 0x30) return i + 1;
  if (!(first >= 0x31 && first <= 0x39)) return -1;
  let j = i + 1;
  while (j - i <= MAX_ID_DIGITS) {
    const c = s.charCodeAt(j);
    if (!(c >= 0x30 && c <= 0x39)) return j;
    j++;
  }
  return -1;
}

/** The index of the quote closing a string with no escapes or control characters, from i; else -1. */
function plainStringEnd(s: string, i: number): number {
  for (; ; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) return i;
    if (c === 0x5c || !(c >= 0x20)) return -1;
  }
}
