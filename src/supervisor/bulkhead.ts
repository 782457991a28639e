/**
 * Least-outstanding-calls balancing with a per-instance concurrency cap and a bounded wait
 * queue. A slot is taken synchronously in `acquire`, so two callers in the same tick can never
 * both take the last one.
 */
import { BkgError, ErrorCodes, type CancelToken } from "@bkg/protocol";
import type { PluginInstance } from "./plugin-instance.js";

interface Waiter {
  resolve(inst: PluginInstance): void;
  reject(err: unknown): void;
  cancel?: CancelToken;
  onAbort?: (reason: unknown) => void;
}

export interface BulkheadLimits {
  concurrency: number;
  queue: number;
}

export class Bulkhead {
  private waiters: Waiter[] = [];

  constructor(
    private readonly name: string,
    private readonly limits: () => BulkheadLimits,
    private readonly candidates: () => Iterable<PluginInstance>,
  ) {}

  get queued(): number {
    return this.waiters.length;
  }

  /** A slot now, as `acquire` takes it, or undefined when it would wait: no promise when there is room. */
  tryAcquire(): PluginInstance | undefined {
    return this.tryTake();
  }

  /** Takes a slot on the least-loaded ready instance, waiting in the queue if all are full. */
  acquire(cancel?: CancelToken): Promise<PluginInstance> {
    const inst = this.tryTake();
    if (inst) return Promise.resolve(inst);
    const { concurrency, queue } = this.limits();
    if (this.waiters.length >= queue) {
      return Promise.reject(
        new BkgError(ErrorCodes.Overloaded, `${this.name} is overloaded: every instance has ${concurrency} calls in flight and ${this.waiters.length} are queued (queue limit ${queue})`),
      );
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve, reject, cancel };
      if (cancel) {
        w.onAbort = (reason) => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(reason);
        };
        cancel.onAbort(w.onAbort);
      }
      this.waiters.push(w);
    });
  }

  /** Gives a slot back and hands free capacity to waiters. */
  release(inst: PluginInstance): void {
    inst.inflight = Math.max(0, inst.inflight - 1);
    this.wake();
  }

  /** Hands free capacity to waiters; call after an instance becomes ready too. */
  wake(): void {
    while (this.waiters.length) {
      const inst = this.tryTake();
      if (!inst) return;
      const w = this.waiters.shift()!;
      if (w.onAbort) w.cancel!.off(w.onAbort);
      w.resolve(inst);
    }
  }

  rejectAll(err: BkgError): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) {
      if (w.onAbort) w.cancel!.off(w.onAbort);
      w.reject(err);
    }
  }

  private tryTake(): PluginInstance | undefined {
    const { concurrency } = this.limits();
    let best: PluginInstance | undefined;
    for (const inst of this.candidates()) {
      if (inst.state !== "ready" || inst.inflight >= concurrency) continue;
      if (!best || inst.inflight < best.inflight) best = inst;
    }
    if (best) best.inflight++;
    return best;
  }
}
