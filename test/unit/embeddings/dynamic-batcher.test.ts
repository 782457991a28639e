/**
 * DynamicBatcher with a hand-driven clock: when a run starts (full batch at once, as soon as the
 * company recent runs had is there, else after maxWaitMs), one run at a time, what queued
 * meanwhile going next, errors reaching every caller of the failed run only.
 */
import t from "tap";
import { type BatcherOptions, DynamicBatcher, type Timers } from "../../../plugins/embeddings/src/dynamic-batcher.js";

function fakeTimers() {
  let pending: { fn: () => void; ms: number } | undefined;
  let clock = 0;
  const timers: Timers = {
    setTimeout: (fn, ms) => (pending = { fn, ms }),
    clearTimeout: () => (pending = undefined),
    now: () => clock,
  };
  const fire = () => {
    const p = pending;
    pending = undefined;
    p?.fn();
  };
  return { timers, fire, waiting: () => pending?.ms, advance: (ms: number) => (clock += ms) };
}

const tick = () => new Promise((r) => setImmediate(r));

/** A runner that records its batches and finishes each when told. */
function gatedRunner() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const run = (items: number[]) => {
    batches.push(items);
    return new Promise<number[]>((resolve) => gates.push(() => resolve(items.map((x) => x * 10))));
  };
  return { run, batches, release: () => gates.shift()?.() };
}

/** A batcher on the hand-driven clock with a gated runner (the recent-company tests use 64 and 4 ms). */
function gatedBatcher(opts: BatcherOptions = { maxBatch: 64, maxWaitMs: 4 }) {
  const clock = fakeTimers();
  const r = gatedRunner();
  return { clock, r, b: new DynamicBatcher(r.run, opts, clock.timers) };
}

t.test("texts of concurrent calls wait up to maxWaitMs and then run together", async (t) => {
  const { clock, r, b } = gatedBatcher({ maxBatch: 8, maxWaitMs: 5 });
  const a = b.submit([1]);
  const c = b.submit([2, 3]);
  await tick();
  t.same(r.batches, [], "nothing runs before the wait is over");
  t.equal(clock.waiting(), 5);
  clock.fire();
  t.same(r.batches, [[1, 2, 3]], "one run for both calls");
  r.release();
  t.same(await a, [10]);
  t.same(await c, [20, 30]);
  t.same(b.stats(), { runs: 1, items: 3, calls: 2, mergedRuns: 1, largestRun: 3 });
});

t.test("a full batch runs at once; one run at a time; what queued meanwhile runs next", async (t) => {
  const { r, b } = gatedBatcher({ maxBatch: 2, maxWaitMs: 1000 });
  const first = b.submit([1, 2, 3]);
  t.same(r.batches, [[1, 2]], "a full batch does not wait");
  const second = b.submit([4]);
  t.same(r.batches, [[1, 2]], "no second run while one is going");
  r.release();
  await tick();
  t.same(
    r.batches,
    [
      [1, 2],
      [3, 4],
    ],
    "the rest goes next, without waiting for the timer",
  );
  r.release();
  t.same(await first, [10, 20, 30]);
  t.same(await second, [40]);
  t.equal(b.stats().runs, 2);
  t.equal(b.stats().largestRun, 2);
});

t.test("a failed run rejects the calls in it, and the next run still happens", async (t) => {
  const clock = fakeTimers();
  const b = new DynamicBatcher(
    async (items: number[]) => {
      if (items.includes(1)) throw new Error("inference failed");
      return items;
    },
    { maxBatch: 1, maxWaitMs: 0 },
    clock.timers,
  );
  const bad = b.submit([1]);
  const later = b.submit([2]);
  await t.rejects(bad, /inference failed/);
  t.same(await later, [2], "the call in the next run is served");
});

t.test("a runner that returns the wrong number of results is an error, not a silent mismatch", async (t) => {
  const clock = fakeTimers();
  const b = new DynamicBatcher(async () => [1], { maxBatch: 4, maxWaitMs: 1 }, clock.timers);
  const p = b.submit([1, 2]);
  clock.fire();
  await t.rejects(p, /returned 1 results for 2 items/);
});

t.test("once recent runs have shown the company to expect, a queue that reaches it runs without waiting", async (t) => {
  const { clock, r, b } = gatedBatcher();
  const round1 = [b.submit([1]), b.submit([2]), b.submit([3])];
  clock.fire();
  t.same(r.batches, [[1, 2, 3]], "the first run waited for its company");
  r.release();
  await Promise.all(round1);

  const round2 = [b.submit([4]), b.submit([5])];
  t.equal(clock.waiting(), 4, "two of the three callers back: still waiting");
  round2.push(b.submit([6]));
  t.same(r.batches.at(-1), [4, 5, 6], "the third caller back starts the run at once");
  t.equal(clock.waiting(), undefined, "and its timer is gone");
  r.release();
  await Promise.all(round2);
});

t.test("a lone caller who calls again and again is not made to wait", async (t) => {
  const { clock, r, b } = gatedBatcher();
  const first = b.submit([1]);
  t.equal(clock.waiting(), 4, "the very first call waits: nothing to go by yet");
  clock.fire();
  r.release();
  await first;
  for (const x of [2, 3, 4]) {
    const p = b.submit([x]);
    t.same(r.batches.at(-1), [x], `call ${x} runs at once`);
    t.equal(clock.waiting(), undefined);
    r.release();
    t.same(await p, [x * 10]);
  }
});

t.test("a queue short of the expected company waits at most maxWaitMs from its oldest text", async (t) => {
  const { clock, r, b } = gatedBatcher();
  const round1 = [b.submit([1]), b.submit([2]), b.submit([3])];
  clock.fire();
  const straggler = b.submit([9]);
  clock.advance(3);
  r.release();
  await Promise.all(round1);
  t.equal(clock.waiting(), 1, "the text that queued during the run waits only what is left of its 4 ms");
  clock.fire();
  t.same(r.batches.at(-1), [9]);
  r.release();
  t.same(await straggler, [90]);

  const late = b.submit([7]);
  clock.advance(10);
  t.equal(clock.waiting(), 4, "a text queued while nothing runs gets the whole wait");
  clock.fire();
  // Runs of 3 are recent again (the run of [7] was 1, the largest of the last 8 is 3).
  const waitedOut = b.submit([8]);
  clock.advance(5);
  r.release();
  await late;
  t.same(r.batches.at(-1), [8], "a text that waited out maxWaitMs during the run goes at once, with no timer");
  t.equal(clock.waiting(), undefined);
  r.release();
  await waitedOut;
});

t.test("the company to expect follows the last 8 runs, so it shrinks when callers go away", async (t) => {
  const { clock, r, b } = gatedBatcher();
  const big = [b.submit([1]), b.submit([2]), b.submit([3]), b.submit([4])];
  clock.fire();
  r.release();
  await Promise.all(big);
  // A lone caller now: each of its calls waits out the timer while the run of 4 is among the last 8.
  for (let i = 0; i < 8; i++) {
    const p = b.submit([i]);
    t.equal(clock.waiting(), 4, `lone call ${i + 1} waits: a run of 4 is recent`);
    clock.fire();
    r.release();
    await p;
  }
  const p = b.submit([100]);
  t.equal(clock.waiting(), undefined, "eight lone runs later the run of 4 is forgotten: the call runs at once");
  r.release();
  await p;
});
