/** Callers waiting for a plugin's next state change (PluginHost.waitReady and settled). */
import { whenAborted, type Cancellation } from "@bkg/protocol";

export class StateWaiters {
  private waiters: (() => void)[] = [];

  /** Resolves at the next notify(); rejects with the signal's reason if `cancel` aborts first. */
  next(cancel?: Cancellation): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const off = cancel ? whenAborted(cancel, reject) : undefined;
      this.waiters.push(() => {
        off?.();
        resolve();
      });
    });
  }

  /** Resolves at the next notify() or after `ms`, whichever comes first. Never rejects. */
  nextWithin(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Wakes every current waiter once; later waiters wait for the next call. */
  notify(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}
