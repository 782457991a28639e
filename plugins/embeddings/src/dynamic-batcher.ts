/**
 * Dynamic batching: texts from concurrent calls are queued and run together, so 16 callers with
 * one sentence each cost one inference run instead of 16. The first queued text waits at most
 * `maxWaitMs` for company; a full batch (`maxBatch`) runs at once; one run at a time (a run
 * already uses every thread it was given), and what queued during a run goes next.
 * Order is first come, first served; a call's texts may span several runs.
 *
 * The company to expect is what recent runs held: callers who were just answered tend to come
 * back, so once the queue holds as many texts as the largest of the last few runs, it runs
 * without waiting out `maxWaitMs`. Sixteen callers then cost no idle time per round, and a lone
 * caller who calls again and again is not made to wait at all.
 */

export interface BatcherOptions {
  maxBatch: number;
  maxWaitMs: number;
}

/** The clock seam, so tests can drive time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Milliseconds on a monotonic clock. */
  now(): number;
}

/** How many recent runs set the company to expect. */
const RECENT_RUNS = 8;

export interface BatcherStats {
  /** Inference runs done. */
  runs: number;
  /** Texts embedded. */
  items: number;
  /** Calls served (a call with many texts counts once). */
  calls: number;
  /** Runs that served texts of more than one call: the batching at work. */
  mergedRuns: number;
  /** Largest run, in texts. */
  largestRun: number;
}

interface Pending<T, R> {
  item: T;
  call: number;
  /** When it was queued (Timers.now). */
  queuedAt: number;
  resolve(r: R): void;
  reject(e: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => performance.now(),
};

export class DynamicBatcher<T, R> {
  private queue: Pending<T, R>[] = [];
  private timer: unknown;
  private running = false;
  private nextCall = 0;
  /** Sizes of the last RECENT_RUNS runs, oldest first. */
  private readonly recentRuns: number[] = [];
  private readonly counters: BatcherStats = { runs: 0, items: 0, calls: 0, mergedRuns: 0, largestRun: 0 };

  constructor(
    /** Runs one batch; must return one result per item, in order. */
    private readonly run: (items: T[]) => Promise<R[]>,
    private readonly opts: BatcherOptions,
    private readonly timers: Timers = realTimers,
  ) {}

  /** Queues the items of one call; resolves with their results in order, or rejects with the run's error. */
  submit(items: T[]): Promise<R[]> {
    const call = this.nextCall++;
    this.counters.calls++;
    const queuedAt = this.timers.now();
    const results = items.map((item) => new Promise<R>((resolve, reject) => this.queue.push({ item, call, queuedAt, resolve, reject })));
    this.schedule();
    return Promise.all(results);
  }

  /** Counters since the batcher was made (a copy). */
  stats(): BatcherStats {
    return { ...this.counters };
  }

  /** Runs the queue now if its company is all there or its oldest text has waited maxWaitMs, else times that wait. */
  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    const waited = this.timers.now() - this.queue[0].queuedAt;
    if (this.queue.length >= Math.min(this.opts.maxBatch, this.expectedCompany()) || waited >= this.opts.maxWaitMs) {
      this.cancelTimer();
      void this.flush();
    } else if (this.timer === undefined) {
      this.timer = this.timers.setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.opts.maxWaitMs - waited);
    }
  }

  /** The largest of the recent runs; Infinity before the first, when there is nothing to go by. */
  private expectedCompany(): number {
    return this.recentRuns.length === 0 ? Number.POSITIVE_INFINITY : Math.max(...this.recentRuns);
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async flush(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const batch = this.queue.splice(0, this.opts.maxBatch);
    this.counters.runs++;
    this.counters.items += batch.length;
    this.counters.largestRun = Math.max(this.counters.largestRun, batch.length);
    this.recentRuns.push(batch.length);
    if (this.recentRuns.length > RECENT_RUNS) this.recentRuns.shift();
    if (new Set(batch.map((p) => p.call)).size > 1) this.counters.mergedRuns++;
    try {
      const out = await this.run(batch.map((p) => p.item));
      if (out.length !== batch.length) throw new Error(`batch run returned ${out.length} results for ${batch.length} items`);
      batch.forEach((p, i) => p.resolve(out[i]));
    } catch (e) {
      for (const p of batch) p.reject(e);
    } finally {
      this.running = false;
    }
    // What queued during the run goes next: now if its company is there, else once its oldest
    // text has waited maxWaitMs in all (usually already, since runs take longer than that).
    this.schedule();
  }
}
