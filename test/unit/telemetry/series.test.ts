import t from "tap";
import { buildSeries } from "../../../src/telemetry/index.js";
import { bucketOf } from "../../../src/telemetry/index.js";
import type { InstanceStatRow, RollupRow } from "../../../src/store/index.js";

const M = 60_000;
const rollup = (minute: number, method: string, calls: number, errors: number, latencyMs: number, runId = 1): RollupRow => ({
  nodeId: "n1",
  runId,
  minute,
  plugin: "echo",
  method,
  calls,
  errors,
  errorsByCode: {},
  durationSum: calls * latencyMs,
  durationMax: latencyMs,
  queueWaitSum: 0,
  queueWaitMax: 0,
  histogram: { [String(bucketOf(latencyMs))]: calls },
});
const inst = (minute: number, instance: string, rssBytes: number, runId = 1): InstanceStatRow => ({
  nodeId: "n1",
  runId,
  minute,
  plugin: "echo",
  instance,
  rssBytes,
  rssMaxBytes: rssBytes,
  cpuPct: 1.5,
  uptimeMs: 1000,
  restarts: 0,
});

t.test("per-minute points: calls of all methods add up, p99 from the merged histograms, RSS over the instances", async (t) => {
  const s = buildSeries([rollup(2 * M, "reverse", 120, 1, 2), rollup(2 * M, "stream", 60, 0, 100), rollup(M, "reverse", 6, 0, 1)], [inst(2 * M, "echo#1", 100), inst(2 * M, "echo#2", 50)]);
  t.equal(s.length, 1);
  const [first, second] = s[0].points;
  t.equal(first.minute, M, "oldest first");
  t.equal(first.calls, 6);
  t.equal(first.callsPerSec, 0.1);
  t.equal(first.rssBytes, undefined, "no instance sample, no RSS");
  t.equal(second.calls, 180);
  t.equal(second.errors, 1);
  t.equal(second.callsPerSec, 3);
  t.ok(second.p99! > 80 && second.p99! < 120, `p99 ${second.p99} is the slow method's latency`);
  t.equal(second.rssBytes, 150);
  t.equal(second.cpuPct, 3);
});

t.test("a daemon restarted within a minute: RSS is the newest run's, not both runs' added up", async (t) => {
  const s = buildSeries([], [inst(M, "echo#1", 100, 1), inst(M, "echo#1", 40, 2)]);
  t.equal(s[0].points[0].rssBytes, 40);
});

t.test("no rows, no series", async (t) => {
  t.same(buildSeries([], []), []);
});
