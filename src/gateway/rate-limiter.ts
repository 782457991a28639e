/**
 * Rate limits shared by every gateway: a fixed window per key, where the key is
 * `cred:<principal id>` for requests with a valid credential and `ip:<address>` for the rest
 * (public routes, failed authentications, logins). HTTP's onRequest hook uses `hit` (and sets
 * the X-RateLimit-* / Retry-After headers itself); WebSocket CALLs and gRPC calls use `take`. One counter per key whatever the gateway, so a
 * credential's budget is the same everywhere. A limit of 0 is no limit.
 */
import { BkgError, ErrorCodes } from "@bkg/protocol";

export interface RateLimitSettings {
  perCredential: number;
  perIp: number;
  windowMs: number;
}

interface Window {
  count: number;
  start: number;
}

export type RateKey = `cred:${string}` | `ip:${string}`;

export class RateLimiter {
  private readonly windows = new Map<string, Window>();
  private lastSweep = Date.now();

  constructor(
    readonly settings: RateLimitSettings,
    private readonly maxKeys = 50_000,
  ) {}

  /** The limit for a key (0: none). */
  limitFor(key: string): number {
    return key.startsWith("cred:") ? this.settings.perCredential : this.settings.perIp;
  }

  /** Counts one request for `key` in the current window: the count so far and the ms left in the window. */
  hit(key: RateKey): { current: number; ttl: number } {
    return this.count(key, this.settings.windowMs, 1);
  }

  /**
   * Counts one request for `key`. Returns undefined when it is within the limit, else the error
   * to answer with (-33002, HTTP 429; data.retryAfterSeconds).
   */
  take(key: RateKey): BkgError | undefined {
    const max = this.limitFor(key);
    if (max <= 0) return undefined;
    const { current, ttl } = this.count(key, this.settings.windowMs, 1);
    return current > max ? this.exceeded(key, max, Math.ceil(ttl / 1000)) : undefined;
  }

  /** The error for a key over its limit, in words. */
  exceeded(key: string, max: number, retryAfterSeconds: number): BkgError {
    const who = key.startsWith("cred:") ? "this credential" : "this address without a valid credential";
    return new BkgError(ErrorCodes.Overloaded, `rate limit: more than ${max} requests in ${Math.round(this.settings.windowMs / 1000)} s from ${who}; retry in ${retryAfterSeconds} s`, {
      reason: "rate_limited",
      limit: max,
      windowMs: this.settings.windowMs,
      retryAfterSeconds,
    });
  }

  private count(key: string, windowMs: number, add: number): { current: number; ttl: number } {
    const now = Date.now();
    if (now - this.lastSweep > windowMs) this.sweep(now, windowMs);
    let w = this.windows.get(key);
    if (!w || now - w.start >= windowMs) {
      if (add === 0) return { current: 0, ttl: 0 };
      if (!w && this.windows.size >= this.maxKeys) this.sweep(now, windowMs);
      w = { count: 0, start: now };
      this.windows.set(key, w);
    }
    w.count += add;
    return { current: w.count, ttl: w.start + windowMs - now };
  }

  /** Drops windows that have ended (and, if still too many, the oldest). */
  private sweep(now: number, windowMs: number): void {
    this.lastSweep = now;
    for (const [k, w] of this.windows) if (now - w.start >= windowMs) this.windows.delete(k);
    if (this.windows.size >= this.maxKeys) {
      let n = Math.ceil(this.maxKeys / 10);
      for (const k of this.windows.keys()) {
        this.windows.delete(k);
        if (--n <= 0) break;
      }
    }
  }
}
