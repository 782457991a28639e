/**
 * The call recorder: the only telemetry code on the call path. The router calls `started` and
 * `done` synchronously for every routed call; each is a couple of Map lookups and a few
 * increments into the current window of the method. Nothing here allocates per call, does
 * I/O, or throws. A flush timer (flusher.ts) rotates the windows and writes them out.
 */
import type { BkgError } from "@bkg/protocol";
import type { CallObserver } from "../bus/index.js";
import { BUCKETS, bucketOf } from "./histogram.js";

/** Calls to one method between two flushes. */
export class Window {
  calls = 0;
  errors = 0;
  durationSum = 0;
  durationMax = 0;
  queueWaitSum = 0;
  queueWaitMax = 0;
  readonly hist = new Uint32Array(BUCKETS);
  readonly errorsByCode = new Map<number, number>();
  constructor(readonly start: number) {}
}

/** One plugin method: running totals since the daemon started, the current window, and the recent closed ones. */
export class MethodStats {
  inflight = 0;
  calls = 0;
  errors = 0;
  cur: Window;
  /** Closed windows of the last RECENT_MS, oldest first (for live rates and percentiles). */
  recent: Window[] = [];
  constructor(
    readonly plugin: string,
    readonly method: string,
    now: number,
  ) {
    this.cur = new Window(now);
  }
}

/** Methods beyond this many per plugin (say, a client calling random names) share one entry. */
export const MAX_METHODS_PER_PLUGIN = 256;
export const OTHER_METHOD = "(other)";
/** How far back live rates and percentiles look (at least one closed window is kept). */
export const RECENT_MS = 10_000;

export type CallErrorSink = (plugin: string, method: string, code: number, message: string) => void;

export class CallRecorder implements CallObserver<MethodStats> {
  private readonly plugins = new Map<string, Map<string, MethodStats>>();
  /** When the current windows started (every method rotates together). */
  windowStart = Date.now();
  /** Start of the oldest window kept in `recent`. */
  recentStart = this.windowStart;
  private readonly starts: number[] = [];

  /** @param onError receives each failed call, to be kept as a call-error event. */
  constructor(private readonly onError?: CallErrorSink) {}

  started(plugin: string, method: string): MethodStats {
    let methods = this.plugins.get(plugin);
    if (!methods) this.plugins.set(plugin, (methods = new Map()));
    let s = methods.get(method);
    if (!s) s = this.add(methods, plugin, method);
    s.inflight++;
    return s;
  }

  done(s: MethodStats, code: number, durationMs: number, queueWaitMs: number, error?: BkgError): void {
    s.inflight--;
    s.calls++;
    const w = s.cur;
    w.calls++;
    w.durationSum += durationMs;
    if (durationMs > w.durationMax) w.durationMax = durationMs;
    w.queueWaitSum += queueWaitMs;
    if (queueWaitMs > w.queueWaitMax) w.queueWaitMax = queueWaitMs;
    w.hist[bucketOf(durationMs)]++;
    if (code !== 0) {
      s.errors++;
      w.errors++;
      w.errorsByCode.set(code, (w.errorsByCode.get(code) ?? 0) + 1);
      this.onError?.(s.plugin, s.method, code, error?.message ?? `error ${code}`);
    }
  }

  private add(methods: Map<string, MethodStats>, plugin: string, method: string): MethodStats {
    if (methods.size >= MAX_METHODS_PER_PLUGIN) {
      const other = methods.get(OTHER_METHOD);
      if (other) return other;
      method = OTHER_METHOD;
    }
    const s = new MethodStats(plugin, method, this.windowStart);
    methods.set(method, s);
    return s;
  }

  /** Every method seen since the daemon started. */
  *all(): IterableIterator<MethodStats> {
    for (const methods of this.plugins.values()) yield* methods.values();
  }

  /**
   * Closes every method's current window and opens a new one at `now`. Returns the closed
   * windows that saw calls; they also join each method's `recent` windows.
   */
  rotate(now: number): { stats: MethodStats; window: Window }[] {
    const out: { stats: MethodStats; window: Window }[] = [];
    const keepFrom = Math.min(now - RECENT_MS, this.windowStart);
    for (const s of this.all()) {
      const w = s.cur;
      s.cur = new Window(now);
      s.recent.push(w);
      while (s.recent[0].start < keepFrom) s.recent.shift();
      if (w.calls > 0) out.push({ stats: s, window: w });
    }
    this.starts.push(this.windowStart);
    while (this.starts[0] < keepFrom) this.starts.shift();
    this.recentStart = this.starts[0];
    this.windowStart = now;
    return out;
  }
}
