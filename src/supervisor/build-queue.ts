/**
 * Builds of different plugins take turns: a compiler uses every core, and two cargo builds on a
 * 2-core machine take longer together than one after the other (config builds.concurrency).
 */
export class BuildQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly concurrency: number) {}

  /** How many builds wait for a turn. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `fn` when a turn is free; `onWait` is called first when it has to wait. An abort while waiting rejects. */
  async run<T>(fn: () => Promise<T>, onWait?: (ahead: number) => void, signal?: AbortSignal): Promise<T> {
    if (this.running < this.concurrency) this.running++;
    else {
      onWait?.(this.waiting.length + this.running);
      // The finishing build hands its turn over directly, so a newcomer cannot take it meanwhile.
      await new Promise<void>((resolve, reject) => {
        const turn = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(turn);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal?.reason ?? new Error("aborted"));
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        this.waiting.push(turn);
      });
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
