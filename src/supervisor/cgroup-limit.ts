/**
 * A hard memory cap through cgroup v2, where the daemon may create child cgroups with the memory
 * controller. Where it cannot (cgroup v1, a read-only hierarchy, no memory controller), the limit
 * is enforced by sampling RSS instead, and the daemon says so once at start.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface CgroupSupport {
  available: boolean;
  /** Why not, or where: logged once. */
  detail: string;
  root?: string;
}

let probed: CgroupSupport | undefined;

/** Probes once per process whether per-plugin cgroups with memory.max can be made. */
export function probeCgroup(): CgroupSupport {
  if (probed) return probed;
  try {
    const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" "));
    const mount = mounts.find((m) => m[2] === "cgroup2")?.[1];
    if (!mount) return (probed = { available: false, detail: "no cgroup v2 hierarchy is mounted" });
    const own = readFileSync("/proc/self/cgroup", "utf8").split("\n").find((l) => l.startsWith("0::"))?.slice(3) ?? "/";
    const root = join(mount, own);
    const controllers = existsSync(join(root, "cgroup.controllers")) ? readFileSync(join(root, "cgroup.controllers"), "utf8") : "";
    if (!/\bmemory\b/.test(controllers)) return (probed = { available: false, detail: `the memory controller is not enabled in ${root}` });
    const probe = join(root, `bkg-probe-${process.pid}`);
    mkdirSync(probe);
    const ok = existsSync(join(probe, "memory.max"));
    rmdirSync(probe);
    return (probed = ok ? { available: true, detail: `cgroup v2 at ${root}`, root } : { available: false, detail: `${root} has no memory.max for child groups` });
  } catch (e) {
    return (probed = { available: false, detail: `cgroup v2 is not writable here (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
  }
}

/** Puts pid in a new child cgroup capped at memoryMb. Returns a cleanup function, or undefined if not possible. */
export function capMemory(instanceId: string, pid: number, memoryMb: number): (() => void) | undefined {
  const s = probeCgroup();
  if (!s.available || !s.root) return undefined;
  const dir = join(s.root, `bkg-${instanceId.replace(/[^\w-]/g, "_")}-${pid}`);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, "memory.max"), String(memoryMb * 1024 * 1024));
    writeFileSync(join(dir, "cgroup.procs"), String(pid));
  } catch {
    return undefined;
  }
  return () => {
    try {
      rmdirSync(dir);
    } catch {
      /* still populated or already gone */
    }
  };
}
