/**
 * The apikeys plugin's login throttle (plugins/apikeys/src/login-throttle.mjs) and its settings
 * (src/config.mjs), on a fake clock: backoff, lockout and its end, the softer per-user and
 * per-address tiers, the trusted address, attempts in flight, success resets, forgetting, and
 * the memory bound.
 */
import t from "tap";
// @ts-expect-error -- plain .mjs without declarations
import { LoginThrottle, THROTTLE_DEFAULTS, waitMs, tiersOf } from "../../plugins/apikeys/src/login-throttle.mjs";
// @ts-expect-error -- plain .mjs without declarations
import { defaultHashThreads, readConfig } from "../../plugins/apikeys/src/config.mjs";

const S = 1000;

function throttle(policy: Record<string, number> = {}, maxInFlight = 4, maxEntries?: number) {
  const clock = { now: 1_000_000 };
  const th = new LoginThrottle({ ...THROTTLE_DEFAULTS, ...policy }, { maxInFlight, now: () => clock.now, maxEntries });
  /** One whole attempt: admitted and failed (or succeeded), or the refusal. */
  const attempt = (user: string, source: string, ok = false) => {
    const a = th.admit(user, source);
    if (a.ok) th.settle(a.ticket, ok);
    return a;
  };
  return { th, clock, attempt };
}

t.test("waitMs: free attempts, then doubling from the base up to the cap, then the lockout", async (t) => {
  const pair = tiersOf({ ...THROTTLE_DEFAULTS, backoffAfter: 3, backoffBaseSeconds: 1, backoffMaxSeconds: 8, lockoutAfter: 7, lockoutSeconds: 900 }).pair;
  t.same(
    [0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => waitMs(n, pair)),
    [0, 0, 0, 1 * S, 2 * S, 4 * S, 8 * S, 900 * S, 900 * S],
  );
});

t.test("a (user, address) pair backs off exponentially after backoffAfter failures", async (t) => {
  const { clock, attempt } = throttle({ backoffAfter: 2, backoffBaseSeconds: 1, backoffMaxSeconds: 4 });
  t.ok(attempt("alice", "1.1.1.1").ok);
  t.ok(attempt("alice", "1.1.1.1").ok);
  t.match(attempt("alice", "1.1.1.1"), { ok: false, scope: "pair", locked: false, retryAfterMs: 1 * S });
  clock.now += 1 * S;
  t.ok(attempt("alice", "1.1.1.1").ok, "allowed once the wait is over");
  t.match(attempt("alice", "1.1.1.1"), { ok: false, retryAfterMs: 2 * S }, "then the wait doubles");
  clock.now += 2 * S;
  t.ok(attempt("alice", "1.1.1.1").ok);
  clock.now += 4 * S;
  t.ok(attempt("alice", "1.1.1.1").ok);
  t.match(attempt("alice", "1.1.1.1"), { ok: false, retryAfterMs: 4 * S }, "capped at backoffMaxSeconds");
  t.ok(attempt("ALICE", "1.1.1.2").ok, "the same user from another address is not held by the pair");
  t.match(attempt("ALICE", "1.1.1.1"), { ok: false, scope: "pair" }, "usernames are case-insensitive");
});

t.test("a pair is locked out after lockoutAfter failures, for lockoutSeconds only, and again on the next failure", async (t) => {
  const { clock, attempt } = throttle({ backoffAfter: 100, lockoutAfter: 3, lockoutSeconds: 600 });
  for (let i = 0; i < 3; i++) t.ok(attempt("bob", "2.2.2.2").ok);
  t.match(attempt("bob", "2.2.2.2"), { ok: false, scope: "pair", locked: true, retryAfterMs: 600 * S, failures: 3 });
  clock.now += 599 * S;
  t.match(attempt("bob", "2.2.2.2", true), { ok: false, locked: true, retryAfterMs: 1 * S }, "even the right password waits (and refusals do not extend the lock)");
  clock.now += 1 * S;
  t.ok(attempt("bob", "2.2.2.2").ok, "the lockout ends");
  t.match(attempt("bob", "2.2.2.2"), { ok: false, locked: true, retryAfterMs: 600 * S }, "one more failure locks it again");
});

t.test("the user tier is softer: capped, never a lockout, and an address that logged in recently is exempt", async (t) => {
  const { clock, attempt } = throttle({ userBackoffAfter: 3, backoffBaseSeconds: 1, userBackoffMaxSeconds: 2, addressBackoffAfter: 1000, backoffAfter: 1000, lockoutAfter: 1000 });
  t.ok(attempt("carol", "9.9.9.9", true).ok, "the real user logs in from home");
  for (let i = 0; i < 10; i++) {
    attempt("carol", `6.6.6.${i}`);
    clock.now += 10 * S;
  }
  t.match(attempt("carol", "7.7.7.7"), { ok: true }, "waits are over after 10 s");
  const r = attempt("carol", "7.7.7.8");
  t.match(r, { ok: false, scope: "user", locked: false, retryAfterMs: 2 * S }, "a new address waits at most userBackoffMaxSeconds");
  t.ok(attempt("carol", "9.9.9.9", true).ok, "the address she logged in from is not slowed down by the attack");
  clock.now += THROTTLE_DEFAULTS.trustedAddressDays * 86_400 * S;
  for (let i = 0; i < 3; i++) t.ok(attempt("carol", `6.6.6.${i}`).ok, "a new attack");
  t.match(attempt("carol", "9.9.9.9"), { ok: false, scope: "user" }, "trust ends after trustedAddressDays");
});

t.test("the address tier catches password spraying across usernames", async (t) => {
  const { attempt } = throttle({ addressBackoffAfter: 5, addressBackoffMaxSeconds: 30 });
  for (let i = 0; i < 5; i++) t.ok(attempt(`user${i}`, "3.3.3.3").ok);
  t.match(attempt("user99", "3.3.3.3"), { ok: false, scope: "address", retryAfterMs: 1 * S });
  t.ok(attempt("user99", "3.3.3.4").ok, "other addresses are unaffected");
});

t.test("a success resets the pair and the user, not the address", async (t) => {
  const { attempt } = throttle({ backoffAfter: 3, userBackoffAfter: 3, addressBackoffAfter: 5 });
  attempt("dave", "4.4.4.4");
  attempt("dave", "4.4.4.4");
  attempt("erin", "4.4.4.4");
  t.ok(attempt("dave", "4.4.4.4", true).ok);
  t.ok(attempt("dave", "4.4.4.4").ok, "after the success the pair starts again from zero");
  t.ok(attempt("dave", "4.4.4.4").ok);
  t.match(attempt("frank", "4.4.4.4"), { ok: false, scope: "address" }, "but the address still counts its five failures");
});

t.test("attempts in flight: one per pair, maxInFlight per user and per address; release counts nothing", async (t) => {
  const { th } = throttle({}, 2);
  const a = th.admit("gina", "5.5.5.5");
  t.ok(a.ok);
  t.match(th.admit("gina", "5.5.5.5"), { ok: false, scope: "pair", inFlight: true, retryAfterMs: null });
  const b = th.admit("gina", "5.5.5.6");
  t.ok(b.ok);
  t.match(th.admit("gina", "5.5.5.7"), { ok: false, scope: "user", inFlight: true });
  const c = th.admit("hank", "5.5.5.5");
  t.ok(c.ok);
  t.match(th.admit("ivan", "5.5.5.5"), { ok: false, scope: "address", inFlight: true });
  for (const x of [a, b, c]) th.release(x.ticket);
  t.equal(th.entries.size, 0, "released attempts leave nothing behind");
  th.release(a.ticket);
  t.equal(th.entries.size, 0, "a second release does nothing");
});

t.test("failures are forgotten forgetAfterSeconds after the last one; memory stays bounded", async (t) => {
  const { clock, attempt, th } = throttle({ backoffAfter: 1, backoffBaseSeconds: 1, backoffMaxSeconds: 1, lockoutAfter: 1000, forgetAfterSeconds: 60 });
  attempt("jane", "8.8.8.8");
  clock.now += 59 * S;
  t.ok(attempt("jane", "8.8.8.8").ok, "backoff over; still counted");
  clock.now += 60 * S;
  t.ok(attempt("jane", "8.8.8.8").ok);
  t.equal(th.get(LoginThrottle.keys("jane", "8.8.8.8")[0], clock.now).failures, 1, "the old failures were forgotten");

  const small = throttle({}, 4, 50);
  for (let i = 0; i < 500; i++) small.attempt(`spray${i}`, `10.0.${i >> 8}.${i & 255}`);
  t.ok(small.th.entries.size <= 50, `a spray of made-up usernames keeps at most maxEntries entries (${small.th.entries.size})`);
});

t.test("config: defaults, and a rejected setting names its field, value and range", async (t) => {
  const c = readConfig({});
  t.match(c, { bcryptRounds: 12, hashQueue: 8, loginThrottle: THROTTLE_DEFAULTS });
  t.equal(c.hashThreads, defaultHashThreads());
  t.same(
    [1, 2, 3, 4, 8, 64].map((n) => defaultHashThreads(n)),
    [1, 1, 1, 2, 4, 4],
    "one thread per two cores, 1 to 4",
  );
  t.throws(() => readConfig({ hashThreads: 0 }), /config\.hashThreads must be an integer from 1 to 64, got 0/);
  t.throws(() => readConfig({ hashQueue: 1.5 }), /config\.hashQueue must be an integer/);
  t.throws(() => readConfig({ loginThrottle: { lockoutAfter: "3" } }), /config\.loginThrottle\.lockoutAfter must be an integer from 1 to 1000, got "3"/);
  t.throws(() => readConfig({ loginThrottle: { lockout: 3 } }), /config\.loginThrottle\.lockout is not a setting; the settings are backoffAfter, /);
  t.throws(() => readConfig({ loginThrottle: { lockoutSeconds: 7200 } }), /forgetAfterSeconds \(3600\) must be at least lockoutSeconds \(7200\)/);
});
