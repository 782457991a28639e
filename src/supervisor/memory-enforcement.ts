/**
 * Says, in words, how a plugin's memory limits are enforced on this machine: for the start log
 * and `bkg plugins info`, so an operator knows whether the ceiling is the kernel's or the
 * sampler's.
 */
import type { Manifest } from "../registry/index.js";
import type { CgroupSupport } from "./instance-cgroups.js";

export function describeMemoryEnforcement(m: Manifest, cgroup: CgroupSupport, sampleMs: number): string | undefined {
  const { memoryMb: soft, memoryHardMb: hard } = m.limits;
  if (!soft || !hard) return undefined;
  const graceful = `replaced gracefully over ${soft} MiB`;
  if (cgroup.memory) return `${graceful}; hard cap ${hard} MiB by cgroup v2 memory.max (the kernel), also sampled every ${sampleMs} ms`;
  return `${graceful}; killed over ${hard} MiB, found by sampling every ${sampleMs} ms (no cgroup cap: ${cgroup.detail})`;
}
