/**
 * One cgroup v2 leaf per plugin instance, under <the daemon's cgroup>/bkg-<data key>/: a process
 * cannot leave its cgroup without write access to another one, so setsid() or a double fork
 * does not hide a descendant the way it escapes a process group (systemd's
 * KillMode=control-group). Needs only a writable cgroup2 mount, no controller. Where the memory
 * controller can be enabled for the leaves, each also gets memory.max: a hard cap the kernel
 * enforces.
 *
 * Layout: bkg-<data key>/i-<instance>-<pid> per instance, and bkg-<data key>/daemon when the
 * daemon had to move itself into a leaf to enable the memory controller (cgroup v2 allows
 * controllers only for groups without processes of their own).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface CgroupSupport {
  /** Leaves can be made: descendants are tracked by cgroup. */
  tracking: boolean;
  /** Leaves get memory.max. */
  memory: boolean;
  /** Where, or why not: for the start log and docs. */
  detail: string;
}

export interface Cgroup2Location {
  /** The cgroup2 mount point. */
  mount: string;
  /** The daemon's own cgroup, relative to the mount ("/" at the root). */
  own: string;
}

/** Where cgroup v2 is mounted and which group this process is in; undefined without cgroup v2. */
export function locateCgroup2(): Cgroup2Location | undefined {
  try {
    const mount = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" "))
      .find((m) => m[2] === "cgroup2")?.[1];
    const own = readFileSync("/proc/self/cgroup", "utf8")
      .split("\n")
      .find((l) => l.startsWith("0::"))
      ?.slice(3);
    return mount && own !== undefined ? { mount, own } : undefined;
  } catch {
    return undefined;
  }
}

const DAEMON_LEAF = "daemon";

export class InstanceCgroups {
  private support: CgroupSupport = { tracking: false, memory: false, detail: "not probed yet" };
  private readonly dir?: string;
  private readonly ownDir?: string;

  constructor(
    dataKey: string,
    private readonly where: Cgroup2Location | undefined = locateCgroup2(),
  ) {
    if (where) {
      this.ownDir = join(where.mount, where.own);
      this.dir = join(this.ownDir, `bkg-${dataKey}`);
    }
  }

  get status(): CgroupSupport {
    return this.support;
  }

  /**
   * Creates the daemon's folder of leaves and tries to enable the memory controller for them.
   * Call once at start, before any instance is adopted; a second call probes again.
   */
  init(): CgroupSupport {
    if (!this.where || !this.dir || !this.ownDir) return (this.support = { tracking: false, memory: false, detail: "no cgroup v2 hierarchy is mounted" });
    try {
      mkdirSync(this.dir, { recursive: true });
      if (!existsSync(join(this.dir, "cgroup.procs"))) throw Object.assign(new Error("not a cgroup"), { code: "ENOTCGROUP" });
    } catch (e) {
      return (this.support = { tracking: false, memory: false, detail: `cannot create cgroups under ${this.ownDir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
    }
    const memory = this.enableMemory();
    return (this.support = { tracking: true, memory: memory === true, detail: `cgroup v2 at ${this.dir}${memory === true ? " with memory.max" : `; no memory.max: ${memory}`}` });
  }

  /** true, or why the memory controller cannot be had for the leaves. */
  private enableMemory(): true | string {
    const own = this.ownDir!;
    const dir = this.dir!;
    const controllers = read(join(own, "cgroup.controllers"));
    if (!/\bmemory\b/.test(controllers)) {
      return `the memory controller is not available to ${own} (its cgroup.controllers: "${controllers.trim() || "none"}"; it is bound to cgroup v1 or not delegated)`;
    }
    if (!/\bmemory\b/.test(read(join(own, "cgroup.subtree_control")))) {
      if (!tryWrite(join(own, "cgroup.subtree_control"), "+memory")) {
        // "No internal processes": a group with members of its own cannot enable controllers for
        // its children. Move the daemon into a leaf and try again (works when it was alone there).
        try {
          mkdirSync(join(dir, DAEMON_LEAF), { recursive: true });
          writeFileSync(join(dir, DAEMON_LEAF, "cgroup.procs"), String(process.pid));
        } catch (e) {
          return `cannot move the daemon into a leaf of ${dir} (${(e as NodeJS.ErrnoException).code})`;
        }
        if (!tryWrite(join(own, "cgroup.subtree_control"), "+memory")) return `cannot enable +memory in ${own}/cgroup.subtree_control (other processes share the daemon's cgroup ${own})`;
      }
    }
    if (!tryWrite(join(dir, "cgroup.subtree_control"), "+memory")) return `cannot enable +memory in ${dir}/cgroup.subtree_control`;
    return true;
  }

  /**
   * Moves a just-spawned process into a new leaf, with memory.max when it can. Returns the leaf,
   * or undefined where cgroups are not available (the caller falls back on the environment
   * mark). A child that forks before it is moved leaves that grandchild outside: plugins do not
   * fork before reading their first message, and the environment mark still covers it.
   */
  adopt(instanceId: string, pid: number, memoryMaxMb?: number): string | undefined {
    if (!this.support.tracking || !this.dir) return undefined;
    const leaf = join(this.dir, `i-${instanceId.replace(/[^\w-]/g, "_")}-${pid}`);
    try {
      mkdirSync(leaf);
      if (memoryMaxMb && this.support.memory) writeFileSync(join(leaf, "memory.max"), String(memoryMaxMb * 1048576));
      writeFileSync(join(leaf, "cgroup.procs"), String(pid));
      return leaf;
    } catch {
      tryRmdir(leaf);
      return undefined;
    }
  }

  /** How many times the kernel OOM-killed a process in the leaf (memory.events), 0 without a cap. */
  oomKills(leaf: string): number {
    return Number(/^oom_kill (\d+)$/m.exec(read(join(leaf, "memory.events")))?.[1] ?? 0);
  }

  /** The processes in a leaf: every descendant, whatever its session or group. */
  members(leaf: string): number[] {
    return members(leaf);
  }

  /** True when the leaf has a kernel memory cap. */
  capped(leaf: string | undefined): boolean {
    return Boolean(leaf && this.support.memory && existsSync(join(leaf, "memory.max")));
  }

  /**
   * SIGKILLs every process in a leaf (cgroup.kill, or one by one on kernels before 5.14) and
   * removes the leaf once they are gone (in the background: dying takes a moment). Returns the
   * pids it found.
   */
  killLeaf(leaf: string): number[] {
    const pids = members(leaf);
    if (pids.length && !tryWrite(join(leaf, "cgroup.kill"), "1")) {
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
    if (!tryRmdir(leaf)) void removeWhenEmpty(leaf);
    return pids;
  }

  /**
   * Kills the processes of every instance leaf (not the daemon's own): at start they are a
   * previous run's leftovers, at stop this run's. Returns what it killed, for the log.
   */
  killAll(): { leaf: string; pids: number[] }[] {
    if (!this.support.tracking || !this.dir) return [];
    let names: string[];
    try {
      names = readdirSync(this.dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && e.name.startsWith("i-"))
        .map((e) => e.name);
    } catch {
      return [];
    }
    const out: { leaf: string; pids: number[] }[] = [];
    for (const name of names) {
      const pids = this.killLeaf(join(this.dir, name));
      if (pids.length) out.push({ leaf: name, pids });
    }
    return out;
  }

  /**
   * At daemon stop, after killAll: waits (up to ~2 s) for the leaves to empty, removes them and
   * the daemon's folder, so nothing is left in the hierarchy. Best effort.
   */
  async removeAll(): Promise<void> {
    if (!this.support.tracking || !this.dir) return;
    let names: string[] = [];
    try {
      names = readdirSync(this.dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && e.name.startsWith("i-"))
        .map((e) => e.name);
    } catch {
      return;
    }
    await Promise.all(names.map((n) => removeWhenEmpty(join(this.dir!, n))));
    tryRmdir(this.dir);
  }
}

function members(leaf: string): number[] {
  return read(join(leaf, "cgroup.procs")).split("\n").filter(Boolean).map(Number);
}

function read(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function tryWrite(file: string, text: string): boolean {
  try {
    writeFileSync(file, text);
    return true;
  } catch {
    return false;
  }
}

function tryRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT";
  }
}

/** Retries rmdir while the leaf's killed processes finish exiting: 40 tries, 50 ms apart. */
async function removeWhenEmpty(leaf: string): Promise<void> {
  for (let i = 0; i < 40 && !tryRmdir(leaf); i++) await new Promise((r) => setTimeout(r, 50).unref());
}
