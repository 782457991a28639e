/**
 * DynamicBatcher with a hand-driven clock: when a run starts (full batch at once, else after
 * maxWaitMs), one run at a time, what queued meanwhile going next, errors reaching every caller
 * of the failed run only.
 */
import t from "tap";
import { DynamicBatcher, type Timers } from "../../../plugins/embeddings/src/dynamic-batcher.js";

function fakeTimers() {
  let pending: { fn: () => void; ms: number } | undefined;
  const timers: Timers = {
    setTimeout: (fn, ms) => (pending = { fn, ms }),
    clearTimeout: () => (pending = undefined),
  };
  const fire = () => {
    const p = pending;
    pending = undefined;
    p?.fn();
  };
  return { timers, fire, waiting: () => pending?.ms };
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

t.test("texts of concurrent calls wait up to maxWaitMs and then run together", async (t) => {
  const clock = fakeTimers();
  const r = gatedRunner();
  const b = new DynamicBatcher(r.run, { maxBatch: 8, maxWaitMs: 5 }, clock.timers);
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
  const clock = fakeTimers();
  const r = gatedRunner();
  const b = new DynamicBatcher(r.run, { maxBatch: 2, maxWaitMs: 1000 }, clock.timers);
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
