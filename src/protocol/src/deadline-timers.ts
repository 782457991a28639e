/**
 * Deadline timers for calls: one Node timer for all of them instead of one per call.
 *
 * Every call on the hot paths (the daemon's router, each SDK's handler) has a deadline, and
 * almost every call ends long before it. A setTimeout + clearTimeout pair per call made and
 * unlinked a timer object each time (and re-created Node's per-duration list whenever it
 * emptied): 1-2 µs of CPU per call, a tenth of the TypeScript SDK's time per echo call. Here a
 * call is one Set entry; the single timer is armed for the earliest deadline and re-armed only
 * when an earlier one arrives or it fires. Deadlines are absolute (epoch ms, Date.now()).
 *
 * When the last entry goes, the timer stays armed but unref'd (it no longer keeps the process
 * alive; firing with nothing due, it just stops). At one call in flight the set empties after
 * every call: clearing the timer then made the next call arm a new one, a setTimeout,
 * clearTimeout and a new per-duration list in Node's timer queue per call (its `insert` was
 * 1-1.5% of each daemon's samples on the cross-node path, docs/benchmarks.md, cluster). Now the
 * next call, due later than the armed time, only takes the timer's ref back.
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
  /** Whether the armed timer keeps the process alive (it does while there are entries). */
  private refed = false;

  /** Entries not yet due nor removed. */
  get size(): number {
    return this.live.size;
  }

  add(d: Deadline): void {
    this.live.add(d);
    if (d.at < this.armedAt) this.arm(d.at);
    else if (!this.refed && this.timer) {
      this.timer.ref();
      this.refed = true;
    }
  }

  /** Forgets `d` (a call that ended); nothing happens if it already expired. */
  delete(d: Deadline): void {
    // The last one gone: the timer no longer keeps the process alive (as clearTimeout did), but
    // stays armed for the next call.
    if (this.live.delete(d) && this.live.size === 0 && this.timer && this.refed) {
      this.timer.unref();
      this.refed = false;
    }
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = setTimeout(this.onTimer, Math.min(Math.max(0, at - Date.now()), MAX_DELAY_MS));
    this.refed = true;
  }

  // An arrow property: it is handed to setTimeout as is.
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.refed = false;
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
