/**
 * Password hashing off the plugin's event loop: a worker_threads pool (piscina) running bcrypt,
 * with a hard bound on the jobs it holds. bcryptjs's async API runs on the main thread in
 * 100 ms slices, so 40 logins at once made every other message (auth.validate above all) wait
 * seconds for a turn; here the main thread only posts messages, and a job over the bound is
 * refused at once (-33002, data.retryAfterSeconds) instead of waiting behind the others.
 */
import { Piscina } from "piscina";
import { BkgError, ErrorCodes } from "@bkg/plugin-sdk";

const WORKER = new URL("./hash-worker.mjs", import.meta.url).href;

export class HashPool {
  /**
   * @param {{threads: number, queue: number}} limits threads: bcrypt jobs running at once;
   *   queue: jobs that may wait for a thread. Beyond threads + queue, a job is refused.
   */
  constructor({ threads, queue }) {
    this.threads = threads;
    this.queue = queue;
    /** Jobs running or waiting; counted here so the bound does not depend on piscina's internals. */
    this.outstanding = 0;
    /** Mean job time (ms), smoothed; seeded by the first job. Only feeds the retry estimate. */
    this.meanMs = 0;
    this.piscina = new Piscina({ filename: WORKER, minThreads: threads, maxThreads: threads, idleTimeout: Infinity });
  }

  /** Jobs the pool holds at most: running plus waiting. */
  get capacity() {
    return this.threads + this.queue;
  }

  /** Seconds until the jobs now held are likely done: the retry hint of a refusal (at least 1). */
  retryAfterSeconds() {
    const ms = this.meanMs || 1000;
    return Math.max(1, Math.ceil((this.outstanding * ms) / this.threads / 1000));
  }

  /** The refusal when the pool is full. `what` names the work for the message. */
  busy(what, reason) {
    const retryAfterSeconds = this.retryAfterSeconds();
    return new BkgError(ErrorCodes.Overloaded, `too many ${what} in progress (${this.outstanding} of at most ${this.capacity}); retry after ${retryAfterSeconds} s`, {
      reason,
      retryAfterSeconds,
    });
  }

  /**
   * bcrypt-compares in a worker. Rejects at once with busy() when the pool is full, even while
   * `hash` (a string, or a promise of one) is still being made. Never blocks the caller's thread.
   * When `signal` fires, a waiting job leaves the queue at once (its place is free for the next
   * login) and a running one ends with its worker thread, which piscina replaces.
   */
  compare(password, hash, signal) {
    return this.run({ op: "compare", password, hash }, "login attempts", "login_busy", true, signal);
  }

  /** bcrypt-hashes in a worker. Rejects at once with busy() when the pool is full. */
  hash(password, rounds) {
    return this.run({ op: "hash", password, rounds }, "password hashes", "hash_busy");
  }

  /** Like hash(), but never refused and not counted against the bound: for the plugin's own one-off start-up work. */
  hashUnbounded(password, rounds) {
    return this.run({ op: "hash", password, rounds }, "", "", false);
  }

  async run(job, what, reason, bounded = true, signal = undefined) {
    if (bounded && this.outstanding >= this.capacity) throw this.busy(what, reason);
    if (bounded) this.outstanding++;
    try {
      const { result, ms } = await this.piscina.run(job.op === "compare" ? { ...job, hash: await job.hash } : job, signal ? { signal } : {});
      this.meanMs = this.meanMs === 0 ? ms : this.meanMs * 0.8 + ms * 0.2;
      return result;
    } catch (e) {
      throw new BkgError(ErrorCodes.PluginError, `the password worker failed: ${/** @type {Error} */ (e).message}`);
    } finally {
      if (bounded) this.outstanding--;
    }
  }

  /** Ends the worker threads; jobs still running are rejected. Idempotent. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.destroy();
  }
}
