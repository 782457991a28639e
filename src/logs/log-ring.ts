import type { LogEvent } from "../events/index.js";

/** The last N log lines of one plugin, oldest first. Push is O(1); memory is bounded by N. */
export class LogRing {
  private buf: (LogEvent | undefined)[];
  private next = 0;
  private count = 0;
  constructor(readonly capacity: number) {
    this.buf = new Array(capacity);
  }
  push(e: LogEvent): void {
    this.buf[this.next] = e;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }
  /** The last `limit` lines (all by default), oldest first. */
  tail(limit = this.count): LogEvent[] {
    const n = Math.max(0, Math.min(limit, this.count));
    const out: LogEvent[] = [];
    for (let i = n; i > 0; i--) out.push(this.buf[(this.next - i + this.capacity) % this.capacity]!);
    return out;
  }
}
