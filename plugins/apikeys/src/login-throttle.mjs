/**
 * Login throttling after OWASP's Authentication Cheat Sheet. Three counters of failed logins,
 * each forgotten `forgetAfterSeconds` after its last failure:
 *
 *   pair     one username from one source address: exponential backoff after `backoffAfter`
 *            failures, then a lockout of `lockoutSeconds` once it reaches `lockoutAfter` (and
 *            again after every further failure). The hardest, because it hits only the attacker.
 *   user     one username from any address: backoff after `userBackoffAfter`, capped at
 *            `userBackoffMaxSeconds`, never a lockout, and skipped for an address that logged in
 *            as that user within `trustedAddressDays` — so an attacker elsewhere can slow the real
 *            user down but not lock them out.
 *   address  one address over all usernames (password spraying): backoff after
 *            `addressBackoffAfter`, capped at `addressBackoffMaxSeconds`.
 *
 * A success clears the pair and user counters (not the address's: one valid account must not
 * reset a spray). Unknown usernames are counted exactly like known ones, so the throttle tells
 * nobody which usernames exist. Attempts are also bounded in flight: one per pair, and
 * `maxInFlight` per username or address, so one attacker cannot fill the hashing queue alone.
 * A refused attempt costs no hashing and is not counted as a failure (it would otherwise extend
 * a lockout forever). State is in memory: a plugin restart forgets it.
 */

export const THROTTLE_DEFAULTS = Object.freeze({
  backoffAfter: 3,
  backoffBaseSeconds: 1,
  backoffMaxSeconds: 60,
  lockoutAfter: 10,
  lockoutSeconds: 900,
  userBackoffAfter: 10,
  userBackoffMaxSeconds: 30,
  addressBackoffAfter: 30,
  addressBackoffMaxSeconds: 300,
  forgetAfterSeconds: 3600,
  trustedAddressDays: 30,
});

/** Entries kept per map before the oldest are dropped (bounds memory under a spray of made-up usernames). */
export const MAX_ENTRIES = 100_000;

/**
 * @typedef {typeof THROTTLE_DEFAULTS} ThrottlePolicy
 * @typedef {{after: number, baseMs: number, maxMs: number, lockAfter?: number, lockMs?: number}} Tier
 * @typedef {{failures: number, last: number, inFlight: number}} Entry
 * @typedef {"pair"|"user"|"address"} Scope
 * @typedef {{ok: true, ticket: Ticket} | {ok: false, scope: Scope, inFlight: boolean, locked: boolean, retryAfterMs: number | null, failures: number}} Admission
 * @typedef {{keys: [string, string, string], settled: boolean}} Ticket
 */

/** How long to wait after the last of `failures` consecutive failures under `tier` (ms). Pure. */
export function waitMs(failures, tier) {
  if (tier.lockAfter !== undefined && failures >= tier.lockAfter) return /** @type {number} */ (tier.lockMs);
  if (failures < tier.after) return 0;
  return Math.min(tier.maxMs, tier.baseMs * 2 ** (failures - tier.after));
}

/** The three tiers of a policy. */
export function tiersOf(p) {
  const baseMs = p.backoffBaseSeconds * 1000;
  return {
    pair: { after: p.backoffAfter, baseMs, maxMs: p.backoffMaxSeconds * 1000, lockAfter: p.lockoutAfter, lockMs: p.lockoutSeconds * 1000 },
    user: { after: p.userBackoffAfter, baseMs, maxMs: p.userBackoffMaxSeconds * 1000 },
    address: { after: p.addressBackoffAfter, baseMs, maxMs: p.addressBackoffMaxSeconds * 1000 },
  };
}

const SCOPES = /** @type {const} */ (["pair", "user", "address"]);

export class LoginThrottle {
  /**
   * @param {ThrottlePolicy} policy
   * @param {{maxInFlight: number, now?: () => number, maxEntries?: number}} opts
   */
  constructor(policy, { maxInFlight, now = Date.now, maxEntries = MAX_ENTRIES }) {
    this.tiers = tiersOf(policy);
    this.forgetMs = policy.forgetAfterSeconds * 1000;
    this.trustMs = policy.trustedAddressDays * 86_400_000;
    this.maxInFlight = maxInFlight;
    this.now = now;
    this.maxEntries = maxEntries;
    /** @type {Map<string, Entry>} */
    this.entries = new Map();
    /** pair key -> time of its last successful login */
    this.trusted = new Map();
  }

  static keys(username, source) {
    const u = username.toLowerCase(); // usernames are case-insensitive (COLLATE NOCASE)
    return /** @type {[string, string, string]} */ ([`p\0${u}\0${source}`, `u\0${u}`, `a\0${source}`]);
  }

  /**
   * Asks whether `username` may try a password from `source` now. Synchronous, no hashing.
   * On {ok: true} the attempt is in flight: call settle(ticket, ok) when it is decided, or
   * release(ticket) when it never was. On {ok: false}, retryAfterMs is when to try again (null
   * when the wait is for attempts in flight, which the caller estimates better).
   * @returns {Admission}
   */
  admit(username, source) {
    const now = this.now();
    const keys = LoginThrottle.keys(username, source);
    const trusted = this.isTrusted(keys[0], now);
    for (let i = 0; i < 3; i++) {
      const scope = SCOPES[i];
      if (scope === "user" && trusted) continue;
      const e = this.get(keys[i], now);
      if (!e) continue;
      if (e.inFlight >= (scope === "pair" ? 1 : this.maxInFlight)) return { ok: false, scope, inFlight: true, locked: false, retryAfterMs: null, failures: e.failures };
      const tier = this.tiers[scope];
      const until = e.last + waitMs(e.failures, tier);
      if (now < until) {
        const locked = tier.lockAfter !== undefined && e.failures >= tier.lockAfter;
        return { ok: false, scope, inFlight: false, locked, retryAfterMs: until - now, failures: e.failures };
      }
    }
    for (const k of keys) {
      const e = this.get(k, now) ?? this.put(k, { failures: 0, last: now, inFlight: 0 });
      e.inFlight++;
    }
    return { ok: true, ticket: { keys, settled: false } };
  }

  /** Records the outcome of an admitted attempt. A second call with the same ticket does nothing. */
  settle(ticket, ok) {
    if (ticket.settled) return;
    ticket.settled = true;
    const now = this.now();
    ticket.keys.forEach((k, i) => {
      const e = this.entries.get(k);
      if (!e) return;
      e.inFlight = Math.max(0, e.inFlight - 1);
      if (ok) {
        if (SCOPES[i] !== "address") e.failures = 0;
      } else {
        e.failures++;
        e.last = now;
        this.put(k, e); // most recently failed last, so pressure drops the quiet ones first
      }
      if (e.failures === 0 && e.inFlight === 0) this.entries.delete(k);
    });
    if (ok && this.trustMs > 0) {
      this.trusted.delete(ticket.keys[0]);
      this.trusted.set(ticket.keys[0], now);
      if (this.trusted.size > this.maxEntries) this.trusted.delete(this.trusted.keys().next().value);
    }
  }

  /** Gives back an admitted attempt that was never decided (the hashing queue was full). Counts nothing. */
  release(ticket) {
    if (ticket.settled) return;
    ticket.settled = true;
    for (const k of ticket.keys) {
      const e = this.entries.get(k);
      if (!e) continue;
      e.inFlight = Math.max(0, e.inFlight - 1);
      if (e.failures === 0 && e.inFlight === 0) this.entries.delete(k);
    }
  }

  isTrusted(pairKey, now) {
    const at = this.trusted.get(pairKey);
    if (at === undefined) return false;
    if (now - at < this.trustMs) return true;
    this.trusted.delete(pairKey);
    return false;
  }

  /** The live entry for k, or undefined (an entry quiet for forgetAfterSeconds is dropped here). */
  get(k, now) {
    const e = this.entries.get(k);
    if (e && e.inFlight === 0 && now - e.last >= this.forgetMs) {
      this.entries.delete(k);
      return undefined;
    }
    return e;
  }

  put(k, e) {
    this.entries.delete(k);
    this.entries.set(k, e);
    if (this.entries.size > this.maxEntries) this.sweep();
    return e;
  }

  /** Drops forgotten entries, then (still too many) the least recently failed idle ones. */
  sweep() {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.inFlight === 0 && now - e.last >= this.forgetMs) this.entries.delete(k);
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries * 0.9) break;
      if (e.inFlight === 0) this.entries.delete(k);
    }
  }
}
