/** Assertions on answers, each failing the case with what was expected and what arrived. */
import type { WireError } from "@bkg/protocol";
import type { Answer } from "./session.js";
import { fail, preview } from "./util.js";

function describeAnswer(a: Answer): string {
  return a.ok ? `result ${preview(a.result)}` : `error ${a.error.code} ${preview(a.error.message)}${a.error.data === undefined ? "" : ` data ${preview(a.error.data)}`}`;
}

/** The answer's result, or a failure saying which error came instead. */
export function expectResult(a: Answer, what: string): unknown {
  if (!a.ok) fail(`expected ${what} to answer a result, got ${describeAnswer(a)}`);
  return a.result;
}

/** The answer's error, checked for `code` and a non-empty message. */
export function expectError(a: Answer, code: number, what: string): WireError {
  if (a.ok) fail(`expected ${what} to answer error ${code}, got ${describeAnswer(a)}`);
  if (a.error.code !== code) fail(`expected ${what} to answer error ${code}, got ${describeAnswer(a)}`);
  if (a.error.message.trim() === "") fail(`expected ${what}'s error ${code} to carry a non-empty message, got ""`);
  return a.error;
}

export { describeAnswer };
