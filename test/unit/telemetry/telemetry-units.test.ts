/** The telemetry parts on their own: histogram accuracy, recorder windows, the bounded event queue, flush retries. */
import t from "tap";
import { fail, ok, type Batch, type Store } from "../../../src/store/index.js";
import { EventQueue } from "../../../src/telemetry/event-queue.js";
import { Flusher } from "../../../src/telemetry/flusher.js";
import { BUCKETS, bucketOf, bucketRange, quantile } from "../../../src/telemetry/histogram.js";
import { CallRecorder, MAX_METHODS_PER_PLUGIN, OTHER_METHOD } from "../../../src/telemetry/recorder.js";
import { parseTime } from "../../../src/gateway/telemetry-api.js";
import { renderTop } from "../../../src/cli/top-view.js";

t.test("histogram: buckets are contiguous and monotonic; quantiles within 12.5%", async (t) => {
  let prev = -1;
  for (const ms of [0, 0.001, 0.002, 0.0035, 0.004, 0.0079, 0.008, 0.05, 1, 1.3, 10, 99, 1000, 65_000, 1e9]) {
    const b = bucketOf(ms);
    t.ok(b >= prev && b < BUCKETS, `${ms} ms -> bucket ${b}`);
    prev = b;
    if (ms >= 0.001 && ms < 2_000_000) {
      const [lo, hi] = bucketRange(b);
      t.ok(ms >= lo - 1e-9 && ms < hi + 1e-9, `${ms} in [${lo}, ${hi})`);
    }
  }
  t.equal(bucketOf(NaN), 0);
  t.equal(bucketOf(-5), 0);
  for (let i = 4; i < BUCKETS - 1; i++) t.equal(bucketRange(i)[1], bucketRange(i + 1)[0], `bucket ${i} ends where ${i + 1} starts`);
  const h = new Uint32Array(BUCKETS);
  for (let ms = 1; ms <= 1000; ms++) h[bucketOf(ms)]++;
  for (const [q, want] of [
    [0.5, 500],
    [0.9, 900],
    [0.99, 990],
  ] as const) {
    const got = quantile(h, q)!;
    t.ok(Math.abs(got - want) / want <= 0.125, `p${q * 100} ${got.toFixed(1)} ≈ ${want}`);
  }
  t.equal(quantile(new Uint32Array(BUCKETS), 0.5), undefined, "empty: no quantile");
});

t.test("recorder: totals, in-flight, windows, error sink, bounded method names", async (t) => {
  const errors: unknown[] = [];
  const r = new CallRecorder((...e) => errors.push(e));
  const a = r.started("echo", "reverse");
  const b = r.started("echo", "reverse");
  t.equal(a, b, "one entry per method");
  t.equal(a.inflight, 2);
  r.done(a, 0, 5, 1);
  r.done(b, -33001, 30_000, 0, undefined);
  t.match(a, { inflight: 0, calls: 2, errors: 1 });
  t.same(a.cur.errorsByCode.get(-33001), 1);
  t.same(errors, [["echo", "reverse", -33001, "error -33001"]]);
  const closed = r.rotate(Date.now());
  t.equal(closed.length, 1);
  t.match(closed[0].window, { calls: 2, errors: 1, durationMax: 30_000, queueWaitSum: 1 });
  t.equal(a.cur.calls, 0, "a new window after rotate");
  t.equal(r.rotate(Date.now()).length, 0, "idle methods are not reported");
  t.equal(a.calls, 2, "totals survive rotation");
  for (let i = 0; i < MAX_METHODS_PER_PLUGIN + 10; i++) r.done(r.started("noisy", `m${i}`), 0, 1, 0);
  const noisy = [...r.all()].filter((s) => s.plugin === "noisy");
  t.equal(noisy.length, MAX_METHODS_PER_PLUGIN + 1);
  t.equal(noisy.find((s) => s.method === OTHER_METHOD)?.calls, 10, "the rest share one entry");
});

t.test("event queue: bounded, drops counted, requeue keeps order", async (t) => {
  const q = new EventQueue("n1", 3);
  for (let i = 0; i < 5; i++) q.push({ ts: i, kind: "daemon", name: `e${i}` });
  const drained = q.drain();
  t.same(
    drained.map((e) => e.name),
    ["e0", "e1", "e2", "events-dropped"],
  );
  t.match(drained[3].message, /^2 events were dropped/);
  q.push({ ts: 10, kind: "daemon", name: "new" });
  q.requeue(drained.slice(0, 3));
  t.same(
    q.drain().map((e) => e.name),
    ["e1", "e2", "new", "events-dropped"],
    "oldest give way when the bound is reached",
  );
  q.push({ ts: 5, kind: "lifecycle", plugin: "echo" });
  t.equal(q.matching({ plugin: "echo", since: 5 }).length, 1);
  t.equal(q.matching({ kinds: ["audit"] }).length, 0);
});

t.test("flusher: a failed write is kept and written on the next try", async (t) => {
  const writes: Batch[] = [];
  let broken = true;
  const store = {
    driver: "sqlite",
    location: "fake",
    write: async (b: Batch) => (broken ? fail("disk full") : (writes.push(b), ok(undefined))),
    prune: async () => ok({ events: 0, rollups: 0, instances: 0, nodes: 0 }),
  } as unknown as Store;
  const warnings: string[] = [];
  const logger = { info() {}, warn: (...a: unknown[]) => warnings.push(String(a[a.length - 1])) } as never;
  const recorder = new CallRecorder();
  const queue = new EventQueue("n1");
  const node = () => ({ nodeId: "n1", hostname: "h", pid: 1, version: "v", startedAt: 0, lastSeen: Date.now(), state: "running" as const, plugins: [] });
  const f = new Flusher({ store, queue, recorder, nodeId: "n1", runId: 1, flushMs: 1000, retentionDays: 7, node, logger });
  recorder.done(recorder.started("echo", "echo"), 0, 1, 0);
  queue.note("x", "first");
  await f.flush();
  t.match(f.status, { failures: 1, lastError: /disk full/ });
  t.match(warnings, [/telemetry flush failed \(kept for the next try\): .*disk full/]);
  broken = false;
  recorder.done(recorder.started("echo", "echo"), 0, 1, 0);
  await f.flush();
  t.equal(f.status.lastError, undefined);
  t.equal(writes.length, 1);
  t.same(
    writes[0].events.map((e) => e.message),
    ["first"],
    "the event from the failed flush",
  );
  t.equal(writes[0].rollups[0].calls, 2, "both calls in the rollup");
  await f.flush();
  t.equal(writes[1].rollups.length, 0, "nothing rewritten when nothing changed");
});

t.test("parseTime: durations, ISO times, epoch ms; a clear error otherwise", async (t) => {
  const now = 1_000_000_000;
  t.equal(parseTime("since", "90s", now), now - 90_000);
  t.equal(parseTime("since", "1h", now), now - 3_600_000);
  t.equal(parseTime("since", "7d", now), now - 7 * 86_400_000);
  t.equal(parseTime("since", "2026-01-01T00:00:00Z", now), Date.parse("2026-01-01T00:00:00Z"));
  t.equal(parseTime("since", 123, now), 123);
  t.equal(parseTime("since", undefined, now), undefined);
  t.throws(() => parseTime("since", "soon", now), { code: -32602, message: /since "soon" is not a time/ });
});

t.test("top view renders an empty and a busy daemon", async (t) => {
  const base = {
    ts: Date.now(),
    nodeId: "n1",
    version: "0.1.0",
    pid: 1,
    uptimeMs: 5000,
    rssBytes: 50 * 1048576,
    cpuPct: 1.5,
    windowMs: 10_000,
    telemetry: { enabled: true, driver: "sqlite", location: "/x/bkg.db", flushMs: 5000, retentionDays: 7, queuedEvents: 0 },
  };
  t.match(renderTop({ ...base, plugins: [] }).join("\n"), /no plugins/);
  const plugin = {
    name: "echo",
    state: "ready",
    restarts: 2,
    queued: 0,
    inflight: 1,
    calls: 10,
    errors: 1,
    ratePerSec: 2.5,
    errorsPerSec: 0.1,
    p50: 0.8,
    p99: 12,
    rssBytes: 40 * 1048576,
    cpuPct: 3,
    methods: [],
    instances: [{ id: "echo#1", pid: 9, state: "ready", inflight: 1, uptimeMs: 5000, rssBytes: 40 * 1048576, cpuPct: 3 }],
  };
  const lines = renderTop({ ...base, plugins: [plugin] });
  t.match(lines.find((l) => l.startsWith("echo "))!, /echo\s+ready\s+1\s+1\s+0\s+2\.5\s+800µs\s+12\.0ms\s+0\.1\s+1\s+10\s+40M\s+3\.0%\s+2/);
  t.ok(lines.some((l) => /^ {2}echo#1\s+ready\s+pid 9/.test(l)));
});
