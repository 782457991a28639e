/**
 * Calls waiting for room on the nodes that serve their plugin (every one at maxInflightPerNode).
 * Bounded: a call beyond `capacity` is refused at once. A waiter leaves when its call is
 * cancelled (deadline or caller) and is woken, first come first served, when any remote call ends.
 */
import type { BkgError, CancelToken } from "@bkg/protocol";

interface Waiter {
  wake(): void;
}

export class SlotQueue {
  private readonly waiters: Waiter[] = [];

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.waiters.length;
  }

  /** Resolves when a slot may be free; rejects with `full()` when the queue is full, or the cancel reason. */
  wait(cancel: CancelToken, full: () => BkgError): Promise<void> {
    if (cancel.aborted) return Promise.reject(cancel.reason);
    if (this.waiters.length >= this.capacity) return Promise.reject(full());
    return new Promise((resolve, reject) => {
      const onAbort = (reason?: unknown) => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(reason);
      };
      const w: Waiter = {
        wake: () => {
          cancel.off(onAbort);
          resolve();
        },
      };
      this.waiters.push(w);
      cancel.onAbort(onAbort);
    });
  }

  wakeOne(): void {
    this.waiters.shift()?.wake();
  }
}
