/**
 * Deadline timers for calls: one Node timer for all of them instead of one per call.
 *
 * Every call on the hot paths (the daemon's router, each SDK's handler) has a deadline, and
 * almost every call ends long before it. A setTimeout + clearTimeout pair per call made and
 * unlinked a timer object each time (and re-created Node's per-duration list whenever it
 * emptied): 1-2 µs of CPU per call, a tenth of the TypeScript SDK's time per echo call. Here a
 * call is one Set entry; the single timer is armed for the earliest deadline and re-armed only
 * when an earlier one arrives or it fires. Deadlines are absolute (epoch ms, Date.now()).
 */
export interface Deadline {
  /** When it is due (epoch ms). */
  readonly at: number;
  /** Runs once when `at` has passed, unless the entry was removed first. Must not throw. */
  expire(): void;
}

/** setTimeout fires at once above 2^31 - 1 ms (about 24.8 days): wait in steps no longer than that. */
const MAX_DELAY_MS = 2_147_483_647;

export class DeadlineTimers {
  private readonly live = new Set<Deadline>();
  private timer: NodeJS.Timeout | undefined = undefined;
  private armedAt = Number.POSITIVE_INFINITY;

  /** Entries not yet due nor removed. */
  get size(): number {
    return this.live.size;
  }

  add(d: Deadline): void {
    this.live.add(d);
    if (d.at < this.armedAt) this.arm(d.at);
  }

  /** Forgets `d` (a call that ended); nothing happens if it already expired. */
  delete(d: Deadline): void {
    // The last one gone: no timer left behind to keep the process alive (as clearTimeout did).
    if (this.live.delete(d) && this.live.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.armedAt = Number.POSITIVE_INFINITY;
    }
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = setTimeout(this.onTimer, Math.min(Math.max(0, at - Date.now()), MAX_DELAY_MS));
  }

  // An arrow property: it is handed to setTimeout as is.
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    const due: Deadline[] = [];
    for (const d of this.live) {
      if (d.at <= now) due.push(d);
      else if (d.at < next) next = d.at;
    }
    for (const d of due) this.live.delete(d);
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    for (const d of due) d.expire();
  };
}
