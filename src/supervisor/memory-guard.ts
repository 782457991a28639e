/**
 * What a /proc sample means for an instance: its usage figures, and whether it is over its
 * memory limits (limits.memoryMb: replace gracefully; limits.memoryHardMb: kill at once).
 * Pure: the PluginHost carries the verdict out.
 */
import type { PluginInstance } from "./plugin-instance.js";
import type { GroupUsage } from "./process-sampler.js";

/** The instance's usage from a sample of its process group, CPU as cores used since the previous sample. */
export function usageFromSample(inst: PluginInstance, g: GroupUsage, now: number, ticksPerSecond: number): NonNullable<PluginInstance["usage"]> {
  const prev = inst.usage;
  const cpu = prev && now > prev.at ? (g.cpuTicks - prev.cpuTicks) / ticksPerSecond / ((now - prev.at) / 1000) : 0;
  return { rssBytes: g.rssBytes, cpu: Math.max(0, cpu), pids: g.pids.length, at: now, cpuTicks: g.cpuTicks, members: g.pids };
}

export interface MemoryVerdict {
  action: "kill" | "replace";
  /** Why, for the instance's exit or replacement reason. */
  why: string;
  /** The warn line the daemon logs, and its fields. */
  log: string;
  fields: Record<string, unknown>;
}

/** Over the hard limit: kill; over the soft limit: replace (once); else undefined. */
export function memoryVerdict(inst: PluginInstance, rssBytes: number, processes: number): MemoryVerdict | undefined {
  const { memoryMb: soft, memoryHardMb: hard } = inst.manifest.limits;
  if (!soft || inst.state === "exited") return undefined;
  const mib = Math.round(rssBytes / 1048576);
  const procs = `${processes} process${processes === 1 ? "" : "es"}`;
  if (inst.memoryKilled) return undefined;
  if (hard && rssBytes > hard * 1048576) {
    const why = `killed: it used ${mib} MiB (${procs}), over its hard memory limit of ${hard} MiB (limits.memoryHardMb; the graceful limit is ${soft} MiB)`;
    return { action: "kill", why, log: `${inst.id} ${why}`, fields: { rssMiB: mib, limitMiB: soft, hardLimitMiB: hard } };
  }
  if (rssBytes > soft * 1048576 && !inst.replacing && inst.state !== "draining" && inst.state !== "stopping") {
    const why = `uses ${mib} MiB (${procs}), over its limit of ${soft} MiB`;
    return { action: "replace", why, log: `${inst.id} ${why}: restarting it gracefully`, fields: { rssMiB: mib, limitMiB: soft } };
  }
  return undefined;
}
