/**
 * A single-use cancellation token for bkg's per-call hot paths.
 *
 * Every routed call used to make three AbortControllers (socket request, router, plugin
 * request) and add and remove a listener on each: EventTarget machinery that profiled at a
 * quarter of the daemon's CPU per call. A CancelToken is a plain object with at most a
 * handful of callbacks; a standard AbortSignal is made only when someone asks for
 * `token.signal` (a plugin handler reading ctx.signal, a library that wants one).
 *
 * Contract: abort() runs the callbacks registered at that moment, synchronously, once, in
 * registration order; later abort() calls do nothing. A callback registered after the abort
 * is not run — check `aborted` first, as with AbortSignal.
 */
export type AbortCallback = (reason: unknown) => void;

export class CancelToken {
  private _aborted = false;
  private _reason: unknown = undefined;
  // Nearly every token has zero or one callback: keep that case free of arrays.
  private first: AbortCallback | undefined = undefined;
  private rest: AbortCallback[] | undefined = undefined;
  private controller: AbortController | undefined = undefined;

  get aborted(): boolean {
    return this._aborted;
  }

  get reason(): unknown {
    return this._reason;
  }

  /** Runs fn on abort. Remove it with off(fn) when the work is done. */
  onAbort(fn: AbortCallback): void {
    if (this._aborted) return;
    if (this.first === undefined) this.first = fn;
    else (this.rest ??= []).push(fn);
  }

  off(fn: AbortCallback): void {
    if (this.first === fn) this.first = undefined;
    else if (this.rest) {
      const i = this.rest.indexOf(fn);
      if (i >= 0) this.rest.splice(i, 1);
    }
  }

  abort(reason: unknown = new DOMException("This operation was aborted", "AbortError")): void {
    if (this._aborted) return;
    this._aborted = true;
    this._reason = reason;
    const first = this.first;
    const rest = this.rest;
    this.first = undefined;
    this.rest = undefined;
    first?.(reason);
    if (rest) for (const fn of rest) fn(reason);
  }

  /** A standard AbortSignal that follows this token, made on first use. */
  get signal(): AbortSignal {
    if (!this.controller) {
      const c = (this.controller = new AbortController());
      if (this._aborted) c.abort(this._reason);
      else this.onAbort((r) => c.abort(r));
    }
    return this.controller.signal;
  }

  /** A token that aborts when `signal` does (the listener goes when `signal` is collected). */
  static fromSignal(signal: AbortSignal): CancelToken {
    const t = new CancelToken();
    if (signal.aborted) t.abort(signal.reason);
    else signal.addEventListener("abort", () => t.abort(signal.reason), { once: true });
    return t;
  }
}

/** Either kind, for APIs that take what the caller has. */
export type Cancellation = CancelToken | AbortSignal;

/** Runs fn once `c` aborts; returns the function that undoes the registration. */
export function whenAborted(c: Cancellation, fn: AbortCallback): () => void {
  if (c instanceof CancelToken) {
    c.onAbort(fn);
    return () => c.off(fn);
  }
  const listener = () => fn(c.reason);
  c.addEventListener("abort", listener, { once: true });
  return () => c.removeEventListener("abort", listener);
}
