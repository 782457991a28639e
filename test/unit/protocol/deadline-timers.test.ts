/** DeadlineTimers: every call's deadline on one timer (the router's and the TypeScript SDK's). */
import t from "tap";
import { DeadlineTimers, type Deadline } from "@bkg/protocol";

/** An entry that records when it expired, and a promise for that moment. */
function entry(at: number, log: string[], name: string): Deadline & { expired: Promise<number> } {
  let done!: (now: number) => void;
  const expired = new Promise<number>((r) => (done = r));
  return {
    at,
    expired,
    expire() {
      log.push(name);
      done(Date.now());
    },
  };
}

t.test("entries expire once their time has passed, earliest first, and never before it", async (t) => {
  const timers = new DeadlineTimers();
  const log: string[] = [];
  const now = Date.now();
  const late = entry(now + 60, log, "late");
  const early = entry(now + 20, log, "early");
  timers.add(late);
  timers.add(early); // earlier than the armed one: the timer is re-armed for it
  t.equal(timers.size, 2);
  const earlyAt = await early.expired;
  t.ok(earlyAt >= early.at, "not before its deadline");
  const lateAt = await late.expired;
  t.ok(lateAt >= late.at, "not before its deadline");
  t.same(log, ["early", "late"]);
  t.equal(timers.size, 0, "expired entries are gone");
});

t.test("a removed entry never expires; the others still do", async (t) => {
  const timers = new DeadlineTimers();
  const log: string[] = [];
  const now = Date.now();
  const removed = entry(now + 10, log, "removed");
  const kept = entry(now + 30, log, "kept");
  timers.add(removed);
  timers.add(kept);
  timers.delete(removed);
  await kept.expired;
  await new Promise((r) => setTimeout(r, 20));
  t.same(log, ["kept"], "the timer armed for the removed entry fired, found it gone and went on to the next");
});

t.test("an entry added while others expire, and one already due, expire too", async (t) => {
  const timers = new DeadlineTimers();
  const log: string[] = [];
  const past = entry(Date.now() - 1000, log, "past");
  let chained: ReturnType<typeof entry> | undefined;
  const first: Deadline = {
    at: Date.now() + 5,
    expire() {
      log.push("first");
      chained = entry(Date.now() + 5, log, "chained");
      timers.add(chained);
    },
  };
  timers.add(first);
  timers.add(past);
  await past.expired;
  while (!chained) await new Promise((r) => setTimeout(r, 5));
  await chained.expired;
  t.same(log.sort(), ["chained", "first", "past"]);
});

t.test("a deadline beyond setTimeout's range waits instead of firing at once", async (t) => {
  const timers = new DeadlineTimers();
  const log: string[] = [];
  const far = entry(Date.now() + 30 * 24 * 3600 * 1000, log, "far");
  timers.add(far);
  await new Promise((r) => setTimeout(r, 30));
  t.same(log, [], "not expired");
  timers.delete(far);
  t.equal(timers.size, 0);
});

t.test("the timer kept armed while the set is empty still serves the next entries", async (t) => {
  const timers = new DeadlineTimers();
  const log: string[] = [];
  const first = entry(Date.now() + 15, log, "first");
  timers.add(first);
  timers.delete(first); // empty: the timer stays armed for first's time, unref'd
  const next = entry(Date.now() + 40, log, "next"); // later than the armed time: no new timer
  timers.add(next);
  const at = await next.expired;
  t.ok(at >= next.at, "not before its deadline");
  t.same(log, ["next"], "the removed entry never expired");
  t.equal(timers.size, 0);
});

t.test("an emptied set keeps no process alive (the armed timer is unref'd)", async (t) => {
  const { spawnSync } = await import("node:child_process");
  const script = `
    import { DeadlineTimers } from "@bkg/protocol";
    const timers = new DeadlineTimers();
    const d = { at: Date.now() + 60000, expire() { console.log("expired"); } };
    timers.add(d);
    timers.delete(d);
    const later = { at: Date.now() + 60000, expire() {} };
    timers.add(later);
    timers.delete(later);
    console.log("done");
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: process.cwd(), encoding: "utf8", timeout: 20_000 });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.trim(), "done", "exited without waiting for the 60 s deadline (spawnSync gives up at 20 s), and nothing expired");
});
