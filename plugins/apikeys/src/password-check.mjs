/**
 * The guarded password check behind auth.login: the throttle decides whether an attempt may
 * run at all, the hash pool runs bcrypt off the event loop, and the outcome goes back to the
 * throttle. Unknown usernames are compared against a dummy hash through the same throttle and
 * the same bounded pool, so they cost an attacker as much as real ones and take as long.
 */
import { randomBytes } from "node:crypto";
import { BkgError, ErrorCodes } from "@bkg/plugin-sdk";

const BCRYPT_MAX_BYTES = 72;

/** The refusal for an attempt the throttle turned away; the same words for known and unknown users. */
function refusal(a, retryAfterSeconds) {
  const who = { pair: "this username from this address", user: "this username", address: "this address" }[a.scope];
  const message =
    a.inFlight ? `a login for ${who} is already in progress; retry after ${retryAfterSeconds} s`
    : a.locked ? `logins for ${who} are locked after ${a.failures} failed attempts; retry after ${retryAfterSeconds} s`
    : `too many failed logins for ${who}; retry after ${retryAfterSeconds} s`;
  return new BkgError(ErrorCodes.Overloaded, message, {
    reason: a.inFlight ? "login_in_progress" : a.locked ? "login_locked" : "login_throttled",
    scope: a.scope,
    retryAfterSeconds,
  });
}

export class PasswordCheck {
  /**
   * @param {{pool: import("./hash-pool.mjs").HashPool, throttle: import("./login-throttle.mjs").LoginThrottle, bcryptRounds: number}} deps
   */
  constructor({ pool, throttle, bcryptRounds }) {
    this.pool = pool;
    this.throttle = throttle;
    /** Compared against when the username is unknown, so both failures take as long. */
    this.dummyHash = pool.hashUnbounded(randomBytes(16).toString("hex"), bcryptRounds);
    this.dummyHash.catch(() => {});
  }

  /**
   * Checks `password` against `hash` (undefined: an unknown user) for an attempt by `username`
   * from `source`. Resolves true or false; rejects with -33002 (data.reason, data.scope,
   * data.retryAfterSeconds) when throttled or when the pool is full, without hashing.
   * `onRefused(error)` runs for every refusal before it is thrown (for the audit log).
   * `signal` (the call's cancellation or deadline) takes a waiting comparison out of the queue.
   * @param {{username: string, password: string, source: string, hash: string | undefined, signal?: AbortSignal}} attempt
   * @param {(err: BkgError) => void} onRefused
   * @returns {Promise<boolean>}
   */
  async check({ username, password, source, hash, signal }, onRefused) {
    const a = this.throttle.admit(username, source);
    if (!a.ok) {
      const err = refusal(a, a.retryAfterMs === null ? this.pool.retryAfterSeconds() : Math.max(1, Math.ceil(a.retryAfterMs / 1000)));
      onRefused(err);
      throw err;
    }
    let same;
    try {
      same = await this.pool.compare(password, hash ?? this.dummyHash, signal);
    } catch (e) {
      this.throttle.release(a.ticket);
      if (/** @type {BkgError} */ (e).code === ErrorCodes.Overloaded) onRefused(/** @type {BkgError} */ (e));
      throw e;
    }
    // bcrypt ignores bytes past 72; such a password never matches rather than matching a prefix.
    const match = same && hash !== undefined && Buffer.byteLength(password, "utf8") <= BCRYPT_MAX_BYTES;
    this.throttle.settle(a.ticket, match);
    return match;
  }
}
