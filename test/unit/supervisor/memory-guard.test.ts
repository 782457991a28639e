/** memory-guard.ts: what a /proc sample means for an instance (the host carries the verdict out). */
import t from "tap";
import { memoryVerdict, usageFromSample } from "../../../src/supervisor/memory-guard.js";
import type { PluginInstance } from "../../../src/supervisor/plugin-instance.js";

const MiB = 1048576;

function inst(over: Partial<{ state: string; replacing: boolean; memoryKilled: boolean; memoryMb: number; memoryHardMb: number; usage: PluginInstance["usage"] }> = {}): PluginInstance {
  const { memoryMb = 300, memoryHardMb = 600, ...rest } = over;
  return { id: "p#1", state: "ready", replacing: false, memoryKilled: false, manifest: { limits: { memoryMb, memoryHardMb } }, ...rest } as unknown as PluginInstance;
}

t.test("under the limit, or without one: no verdict", async (t) => {
  t.equal(memoryVerdict(inst(), 200 * MiB, 1), undefined);
  t.equal(memoryVerdict(inst({ memoryMb: 0 }), 5000 * MiB, 1), undefined);
  t.equal(memoryVerdict(inst({ state: "exited" }), 5000 * MiB, 1), undefined);
});

t.test("over the soft limit: replace once, with the figures", async (t) => {
  const v = memoryVerdict(inst(), 400 * MiB, 2);
  t.equal(v?.action, "replace");
  t.equal(v?.why, "uses 400 MiB (2 processes), over its limit of 300 MiB");
  t.same(v?.fields, { rssMiB: 400, limitMiB: 300 });
  t.equal(memoryVerdict(inst({ replacing: true }), 400 * MiB, 2), undefined, "already being replaced");
  t.equal(memoryVerdict(inst({ state: "draining" }), 400 * MiB, 2), undefined, "already draining");
});

t.test("over the hard limit: kill, once", async (t) => {
  const v = memoryVerdict(inst(), 700 * MiB, 1);
  t.equal(v?.action, "kill");
  t.match(v?.why, /^killed: it used 700 MiB \(1 process\), over its hard memory limit of 600 MiB/);
  t.same(v?.fields, { rssMiB: 700, limitMiB: 300, hardLimitMiB: 600 });
  t.equal(memoryVerdict(inst({ memoryKilled: true }), 700 * MiB, 1), undefined);
});

t.test("usage: CPU in cores since the previous sample", async (t) => {
  const g = { rssBytes: 10 * MiB, cpuTicks: 300, pids: [7, 8] };
  const first = usageFromSample(inst(), g, 1000, 100);
  t.same(first, { rssBytes: 10 * MiB, cpu: 0, pids: 2, at: 1000, cpuTicks: 300, members: [7, 8] });
  const next = usageFromSample(inst({ usage: first }), { ...g, cpuTicks: 400 }, 3000, 100);
  t.equal(next.cpu, 0.5, "100 ticks over 2 s at 100 ticks/s");
});
