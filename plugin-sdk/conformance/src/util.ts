/**
 * Small helpers shared by the runner: a failure type whose message is the case's reason,
 * short previews of JSON values for those reasons, and bounded waiting.
 */

/** Thrown by a case to fail it; the message is the reason printed next to the case name. */
export class CaseFailure extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "CaseFailure";
  }
}

/** Fails the current case. */
export function fail(reason: string): never {
  throw new CaseFailure(reason);
}

/** A short, single-line JSON preview of any value, for messages. */
export function preview(value: unknown, max = 120): string {
  let s: string;
  if (value === undefined) return "undefined";
  if (typeof value === "string" && value.length > max) {
    return `a string of ${value.length} chars starting ${JSON.stringify(value.slice(0, 24))}`;
  }
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > max ? `${s.slice(0, max)}… (${s.length} chars)` : s;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves with the promise's value, or rejects with CaseFailure(`what`) after `ms`.
 * The timer never keeps the process alive on its own.
 */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new CaseFailure(what)), ms);
    timer.unref?.();
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The message of anything thrown. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
