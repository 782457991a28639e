/**
 * A token bucket per plugin for the lines it may copy into the daemon's own log (nginx's
 * limit_req, burst included): `linesPerSec` tokens a second, at most `burst` saved up. A line
 * costs one token per started KiB, so a few long lines cost as much as many short ones. What the
 * bucket refuses is counted and reported in one note every `noteMs`; the plugin's own log file,
 * its ring and log subscribers still get every line.
 */
export interface LineBudgetSettings {
  linesPerSec: number;
  burst: number;
}

export interface Dropped {
  plugin: string;
  lines: number;
  bytes: number;
  /** Since the first line dropped in this window. */
  sinceMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
  lines: number;
  bytes: number;
  firstDropAt: number;
}

export class DaemonLogGate {
  private readonly buckets = new Map<string, Bucket>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly s: LineBudgetSettings,
    private readonly note: (d: Dropped) => void,
    private readonly noteMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  /** May this line (of `bytes` bytes) from `plugin` go to the daemon's log? O(1); never throws. */
  admit(plugin: string, bytes: number): boolean {
    const t = this.now();
    let b = this.buckets.get(plugin);
    if (!b) this.buckets.set(plugin, (b = { tokens: this.s.burst, at: t, lines: 0, bytes: 0, firstDropAt: 0 }));
    b.tokens = Math.min(this.s.burst, b.tokens + ((t - b.at) / 1000) * this.s.linesPerSec);
    b.at = t;
    const cost = Math.max(1, Math.ceil(bytes / 1024));
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return true;
    }
    if (!b.lines) b.firstDropAt = t;
    b.lines++;
    b.bytes += bytes;
    this.timer ??= setTimeout(() => this.flush(), this.noteMs).unref();
    return false;
  }

  /** Reports every plugin's drops now (the timer calls it; stop calls it for the last window). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const t = this.now();
    for (const [plugin, b] of this.buckets) {
      if (!b.lines) continue;
      this.note({ plugin, lines: b.lines, bytes: b.bytes, sinceMs: t - b.firstDropAt });
      b.lines = b.bytes = 0;
    }
  }

  /** Forgets a plugin (removed). */
  forget(plugin: string): void {
    this.buckets.delete(plugin);
  }
}
