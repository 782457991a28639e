/**
 * Dynamic batching: texts from concurrent calls are queued and run together, so 16 callers with
 * one sentence each cost one inference run instead of 16. The first queued text waits at most
 * `maxWaitMs` for company; a full batch (`maxBatch`) runs at once; one run at a time (a run
 * already uses every thread it was given), and what queued during a run goes next.
 * Order is first come, first served; a call's texts may span several runs.
 */

export interface BatcherOptions {
  maxBatch: number;
  maxWaitMs: number;
}

/** The timer seam, so tests can drive time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

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
  resolve(r: R): void;
  reject(e: unknown): void;
}

const realTimers: Timers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };

export class DynamicBatcher<T, R> {
  private queue: Pending<T, R>[] = [];
  private timer: unknown;
  private running = false;
  private nextCall = 0;
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
    const results = items.map((item) => new Promise<R>((resolve, reject) => this.queue.push({ item, call, resolve, reject })));
    this.schedule();
    return Promise.all(results);
  }

  /** Counters since the batcher was made (a copy). */
  stats(): BatcherStats {
    return { ...this.counters };
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.queue.length >= this.opts.maxBatch) {
      this.cancelTimer();
      void this.flush();
    } else if (this.timer === undefined) {
      this.timer = this.timers.setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.opts.maxWaitMs);
    }
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
    // Texts that queued during the run have waited long enough: run them now.
    if (this.queue.length > 0) {
      this.cancelTimer();
      void this.flush();
    }
  }
}
