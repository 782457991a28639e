import t from "tap";
import { DEFAULTS } from "../../../src/config/index.js";
import { decide, describeExit, EMPTY_HISTORY } from "../../../src/supervisor/index.js";

const policy = { ...DEFAULTS.defaults.restart, backoff: { initialMs: 100, factor: 2, maxMs: 1000, jitter: 0 }, maxRestarts: 3, windowMs: 10_000, stableMs: 5_000 };
const crash = { code: 1, signal: null, uptimeMs: 50 };

t.test("on-failure restarts failures, not clean exits", async (t) => {
  t.equal(decide(crash, policy, EMPTY_HISTORY, 0).action, "restart");
  t.equal(decide({ code: null, signal: "SIGKILL", uptimeMs: 10 }, policy, EMPTY_HISTORY, 0).action, "restart", "a signal is a failure");
  const clean = decide({ code: 0, signal: null, uptimeMs: 10 }, policy, EMPTY_HISTORY, 0);
  t.equal(clean.action, "stop");
  t.match(clean, { reason: /code 0/ });
});

t.test("always restarts clean exits; never restarts nothing", async (t) => {
  t.equal(decide({ code: 0, signal: null, uptimeMs: 10 }, { ...policy, policy: "always" }, EMPTY_HISTORY, 0).action, "restart");
  t.equal(decide(crash, { ...policy, policy: "never" }, EMPTY_HISTORY, 0).action, "stop");
});

t.test("exponential backoff, capped", async (t) => {
  let h = EMPTY_HISTORY;
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    const d = decide(crash, { ...policy, maxRestarts: 100 }, h, i * 20_000);
    if (d.action !== "restart") throw new Error("expected restart");
    delays.push(d.delayMs);
    h = d.history;
  }
  t.same(delays, [100, 200, 400, 800, 1000, 1000]);
});

t.test("jitter spreads the delay by at most ±jitter", async (t) => {
  const p = { ...policy, backoff: { ...policy.backoff, jitter: 0.5 } };
  const lo = decide(crash, p, EMPTY_HISTORY, 0, 0);
  const hi = decide(crash, p, EMPTY_HISTORY, 0, 0.9999);
  t.match(lo, { delayMs: 50 });
  t.ok(hi.action === "restart" && hi.delayMs >= 149 && hi.delayMs <= 150);
});

t.test("a stable run resets the backoff", async (t) => {
  const h = { restarts: [], attempt: 4 };
  t.match(decide({ ...crash, uptimeMs: 6000 }, policy, h, 0), { action: "restart", delayMs: 100 });
  t.match(decide(crash, policy, h, 0), { action: "restart", delayMs: 1000 });
});

t.test("more than maxRestarts within the window is a crash loop; old restarts age out", async (t) => {
  const h = { restarts: [1000, 2000, 3000], attempt: 3 };
  const d = decide(crash, policy, h, 4000);
  t.equal(d.action, "crashloop");
  t.match(d, { reason: /4 exits within 10s \(limit 3 restarts\)/ });
  t.equal(decide(crash, policy, h, 12_500).action, "restart", "restarts older than the window no longer count");
});

t.test("exits are described in words", async (t) => {
  t.equal(describeExit({ code: 3, signal: null }), "exited with code 3");
  t.equal(describeExit({ code: null, signal: "SIGKILL" }), "killed by SIGKILL");
});
