/**
 * The set of plugins: turns manifest files into PluginHosts, keeps invalid and blocked ones
 * visible with their reasons, starts plugins in dependency order and fans their logs and
 * lifecycle out to the event bus.
 */
import { basename, join } from "node:path";
import type { BkgCallParams } from "@bkg/protocol";
import type { ResolvedConfig } from "../config/index.js";
import type { EventBus, PluginState } from "../events/index.js";
import { DaemonLogGate, LogRing, type Dropped, type Logger } from "../logs/index.js";
import { checkRequires, parseManifest, redactManifest, startOrder, type InvalidManifest, type Manifest } from "../registry/index.js";
import { ParamsSchemaCache } from "../validation/params-schema-cache.js";
import { BuildQueue } from "./build-queue.js";
import { InstanceCgroups } from "./instance-cgroups.js";
import { buildProgressLine, PluginBuilder, type BuildStatus } from "./plugin-builder.js";
import { describeMemoryEnforcement } from "./memory-enforcement.js";
import { reapPreviousRuns, reapRun } from "./orphan-reaper.js";
import { PluginHost, type LastExit } from "./plugin-host.js";
import type { CallLink } from "./plugin-instance.js";
import { sampleGroups, sampleRss } from "./process-sampler.js";
import { dataKey, newRunMarker } from "./run-marker.js";

/** How often the plugins with limits.memoryMb are sampled (statm of their known processes only). */
export const MEMORY_SAMPLE_MS = 100;

export interface SupervisorDeps {
  config: ResolvedConfig;
  bus: EventBus;
  logger: Logger;
  daemonVersion: string;
  /** Part of a cluster: a required plugin with no manifest here may be served by another node. */
  clustered?: boolean;
  /** A bkg/call from a plugin, to be checked and routed. */
  pluginCall(caller: PluginHost, params: BkgCallParams, link: CallLink): Promise<unknown>;
}

export interface InstanceSummary {
  id: string;
  pid?: number;
  state: string;
  inflight: number;
  calls: number;
  uptimeMs: number;
  /** Resident memory of the instance's whole process group, from the last sample. */
  rssBytes?: number;
  /** CPU of the process group over the last sample interval, in cores (1 = one core busy). */
  cpu?: number;
}

export interface PluginSummary {
  name: string;
  state: PluginState;
  reason?: string;
  version?: string;
  file: string;
  activation?: string;
  instances: InstanceSummary[];
  restarts: number;
  queued: number;
  /** The last failed hot swap, until a swap succeeds: the previous version kept serving. */
  swapFailure?: { at: string; version: string; previousVersion: string; message: string; headline?: string };
  /** The manifest build step's latest run, with `progress`: one line saying what it does or did. */
  build?: Omit<BuildStatus, "tail"> & { progress: string };
  /** Manifest problems: why it is invalid, or what is wrong with a newer manifest while the last valid one serves. */
  problems?: { file: string; path: string; message: string }[];
}

export interface PluginInfo extends PluginSummary {
  description?: string;
  /** With the last 50 lines of output when the build failed. */
  build?: BuildStatus & { progress: string };
  methods: { name: string; description?: string; streaming?: boolean; paramsSchema?: unknown }[];
  manifest?: Manifest;
  lastExit?: LastExit;
  /** How limits.memoryMb / memoryHardMb are enforced here (cgroup or sampling), when set. */
  memory?: string;
}

export class Supervisor {
  readonly hosts = new Map<string, PluginHost>();
  private readonly invalid = new Map<string, InvalidManifest>();
  private readonly files = new Map<string, string>();
  private readonly rings = new Map<string, LogRing>();
  private started = false;
  private sampler?: NodeJS.Timeout;
  private memorySampler?: NodeJS.Timeout;
  private cgroupNoted = false;
  /** BKG_DAEMON_RUN of this run: every plugin process and its descendants carry it. */
  readonly runMarker: string;
  /** A cgroup v2 leaf per instance where the daemon can make them; set up by reapOrphans. */
  readonly cgroups: InstanceCgroups;
  /** What each plugin may copy into the daemon's own log (logs.daemonLinesPerSec / daemonBurst). */
  private readonly logGate: DaemonLogGate;

  /** Plugins' compiled paramsSchemas, kept across starts (see params-schema-cache.ts). */
  readonly schemaCache: ParamsSchemaCache;
  /** Manifest build steps, builds.concurrency at a time. */
  readonly builder: PluginBuilder;

  constructor(private readonly deps: SupervisorDeps) {
    this.schemaCache = new ParamsSchemaCache(join(deps.config.dataDir, "cache", "params-schemas"));
    this.runMarker = newRunMarker(deps.config.dataDir);
    this.cgroups = new InstanceCgroups(dataKey(deps.config.dataDir));
    const logs = deps.config.logs;
    this.logGate = new DaemonLogGate({ linesPerSec: logs.daemonLinesPerSec, burst: logs.daemonBurst }, (d) => this.noteDropped(d));
    this.builder = new PluginBuilder({
      dataDir: deps.config.dataDir,
      queue: new BuildQueue(deps.config.builds.concurrency),
      log: (plugin, level, msg, fields, output) => this.log(plugin, level, msg, fields, undefined, output ? "stderr" : "daemon"),
    });
  }

  private noteDropped(d: Dropped): void {
    const file = join(this.deps.config.dataDir, "logs", "plugins", `${d.plugin}.log`);
    const { daemonLinesPerSec: rate, daemonBurst: burst } = this.deps.config.logs;
    this.deps.logger.warn(
      { plugin: d.plugin, droppedLines: d.lines, droppedBytes: d.bytes },
      `dropped ${d.lines} lines (${d.bytes} bytes) from ${d.plugin}'s stderr and bkg/log in the last ${(d.sinceMs / 1000).toFixed(1)} s: over logs.daemonLinesPerSec ${rate} (burst ${burst}); every line is in ${file}`,
    );
  }

  /**
   * Samples every plugin's process group once a second (RSS, CPU; a scan of /proc that also
   * finds new members) and, every memoryMs, the known members of the instances with a memory
   * limit (their statm only), so a fast-growing plugin meets its hard limit before it doubles.
   * Idempotent; stopped by stopAll.
   */
  startSampling(intervalMs = 1000, memoryMs = MEMORY_SAMPLE_MS): void {
    if (this.sampler) return;
    this.sampler = setInterval(() => this.sampleNow(), intervalMs);
    this.sampler.unref();
    this.memorySampler = setInterval(() => this.sampleMemory(), memoryMs);
    this.memorySampler.unref();
  }

  sampleMemory(): void {
    for (const h of this.hosts.values()) {
      for (const inst of h.memoryLimited()) {
        // Its cgroup knows every descendant at once; else the members the last /proc scan found.
        const members = inst.cgroupMembers() ?? (inst.usage?.members.includes(inst.pid!) ? inst.usage.members : [inst.pid!, ...(inst.usage?.members ?? [])]);
        h.enforceMemory(inst, sampleRss(members), members.length);
      }
    }
  }

  sampleNow(): void {
    const pgids = new Set<number>();
    for (const h of this.hosts.values()) for (const i of h.allInstances()) if (i.pid) pgids.add(i.pid);
    if (!pgids.size) return;
    const groups = sampleGroups(pgids);
    const now = Date.now();
    for (const h of this.hosts.values()) h.takeSample(groups, now);
  }

  /**
   * At start, before any plugin is spawned: sets up cgroup tracking and kills what a previous
   * daemon on this data folder left behind (its cgroup leaves, and processes carrying its
   * environment mark); logs each and how descendants are tracked from now on.
   */
  reapOrphans(): void {
    const cg = this.cgroups.init();
    this.deps.logger.info(
      { cgroup: cg.tracking, memoryMax: cg.memory },
      cg.tracking
        ? `plugin processes and all their descendants are tracked by cgroup (${cg.detail})`
        : `plugin descendants are tracked by process group and the BKG_DAEMON_RUN environment mark only: ${cg.detail}`,
    );
    for (const r of this.cgroups.killAll()) {
      this.deps.logger.warn({ cgroup: r.leaf, pids: r.pids }, `killed ${r.pids.length} leftover process(es) of ${r.leaf} from a previous daemon (cgroup)`);
    }
    for (const p of reapPreviousRuns(dataKey(this.deps.config.dataDir), this.runMarker)) {
      this.deps.logger.warn({ pid: p.pid, instance: p.instance, run: p.run }, `killed leftover process ${p.pid} of ${p.instance ?? "a plugin"} from a previous daemon (environment mark)`);
    }
  }

  /** After the plugins stopped: kills any descendant still alive (a setsid'ed grandchild ignoring SIGTERM). */
  private async reapThisRun(): Promise<void> {
    const left = new Set([...this.cgroups.killAll().flatMap((r) => r.pids), ...reapRun(this.runMarker).map((p) => p.pid)]);
    if (left.size) this.deps.logger.warn({ pids: [...left] }, `killed ${left.size} process(es) the plugins left behind`);
    await this.cgroups.removeAll();
  }

  get(name: string): PluginHost | undefined {
    return this.hosts.get(name);
  }

  /** A manifest file appeared or changed. Never throws: a bad file becomes an `invalid` entry. */
  upsert(file: string, text: string): void {
    const r = parseManifest(file, text, this.deps.config);
    if (!r.ok) return this.markInvalid(r.invalid);
    const m = r.manifest;
    this.invalid.delete(file);
    this.files.set(file, m.name);
    let host = this.hosts.get(m.name);
    if (!host) {
      host = this.createHost(m);
      this.deps.logger.info({ plugin: m.name, file }, `manifest loaded: ${m.name} ${m.version}`);
      if (this.started) void this.activate(host);
    } else {
      host.manifestProblems = undefined;
      if (m.digest === host.manifest.digest && host.state !== "invalid") return;
      this.deps.logger.info({ plugin: m.name, file }, `manifest changed: ${m.name} ${m.version}`);
      if (!m.enabled) {
        host.manifest = m;
        void host.stop("disabled in its manifest").then(() => host!.setState("disabled", "enabled: false in the manifest"));
      } else if (host.state === "invalid" || host.state === "blocked" || host.state === "disabled") {
        host.manifest = m;
        void this.activate(host);
      } else void host.reload(m, "manifest changed");
    }
    this.recheckBlocked();
  }

  /** A manifest file was deleted: the plugin stops and disappears. */
  async remove(file: string): Promise<void> {
    this.invalid.delete(file);
    const name = this.files.get(file);
    this.files.delete(file);
    const host = name ? this.hosts.get(name) : undefined;
    if (!host || host.manifest.file !== file) return;
    this.deps.logger.info({ plugin: name, file }, `manifest deleted: stopping ${name}`);
    await host.stop("manifest deleted");
    this.hosts.delete(host.name);
    this.recheckBlocked();
  }

  /** Starts every valid plugin, each after the plugins it requires are ready. */
  async startAll(): Promise<void> {
    this.started = true;
    const all = this.manifests();
    // Each activation waits for those of the plugins it requires: a plugin two levels down a
    // requires chain is not started yet when its dependent looks, and would be blocked for good.
    const activations = new Map<string, Promise<void>>();
    for (const name of startOrder(all)) activations.set(name, this.activate(this.hosts.get(name)!, activations));
    await Promise.all(activations.values());
  }

  /** Stops every plugin, dependents before what they depend on. */
  async stopAll(reason = "daemon shutting down"): Promise<void> {
    this.started = false;
    clearInterval(this.sampler);
    clearInterval(this.memorySampler);
    this.sampler = this.memorySampler = undefined;
    const order = startOrder(this.manifests()).reverse();
    const dependents = (name: string) => order.filter((n) => n !== name && Object.hasOwn(this.hosts.get(n)?.manifest.requires ?? {}, name));
    const stopping = new Map<string, Promise<void>>();
    const stopOne = (name: string): Promise<void> => {
      if (!stopping.has(name)) {
        stopping.set(
          name,
          Promise.all(dependents(name).map(stopOne)).then(() => this.hosts.get(name)?.stop(reason)),
        );
      }
      return stopping.get(name)!;
    };
    await Promise.all(order.map(stopOne));
    await this.reapThisRun();
    this.logGate.flush();
  }

  private async activate(host: PluginHost, activations?: Map<string, Promise<void>>): Promise<void> {
    const m = host.manifest;
    if (!m.enabled) return host.setState("disabled", "enabled: false in the manifest");
    const ok = checkRequires(m, this.manifests(), this.deps.clustered);
    if (!ok.ok) {
      this.deps.logger.warn({ plugin: m.name }, `plugin ${m.name} is blocked: ${ok.reason}`);
      return host.setState("blocked", ok.reason);
    }
    for (const dep of Object.keys(m.requires)) {
      const other = this.hosts.get(dep);
      if (!other) continue; // served by another node (clustered)
      if (other.manifest.activation === "lazy") continue;
      await activations?.get(dep);
      try {
        await other.waitReady(AbortSignal.timeout(m.timeouts.start + other.manifest.timeouts.start));
      } catch {
        return host.setState("blocked", `requires ${dep}, which is ${other.state}${other.reason ? `: ${other.reason}` : ""}`);
      }
    }
    if (host.state !== "ready") host.start();
  }

  private recheckBlocked(): void {
    if (!this.started) return;
    for (const host of this.hosts.values()) {
      if (host.state === "blocked" && checkRequires(host.manifest, this.manifests(), this.deps.clustered).ok) void this.activate(host);
    }
  }

  private markInvalid(inv: InvalidManifest): void {
    this.invalid.set(inv.file, inv);
    for (const p of inv.problems) {
      this.deps.logger.error({ file: inv.file, pointer: p.path || "/", plugin: inv.name }, `invalid manifest ${basename(inv.file)}: ${p.path || "/"} ${p.message}`);
    }
    const name = this.files.get(inv.file);
    const host = name ? this.hosts.get(name) : undefined;
    if (!host) return;
    const text = inv.problems.map((p) => `${p.path || "/"} ${p.message}`).join("; ");
    if (host.serving().length) host.manifestProblems = text;
    else {
      void host.stop("manifest became invalid").then(() => host.setState("invalid", text));
    }
  }

  private createHost(m: Manifest): PluginHost {
    const ring = this.ring(m.name);
    if (m.limits.memoryMb) {
      const cg = this.cgroups.status;
      if (!this.cgroupNoted) {
        this.cgroupNoted = true;
        this.deps.logger.info(
          { cgroup: cg.memory },
          cg.memory
            ? `memory limits are hard caps (${cg.detail}) and also sampled every ${MEMORY_SAMPLE_MS} ms`
            : `memory limits are enforced by sampling RSS every ${MEMORY_SAMPLE_MS} ms: ${cg.detail}`,
        );
      }
      this.deps.logger.info({ plugin: m.name }, `${m.name} memory: ${describeMemoryEnforcement(m, cg, MEMORY_SAMPLE_MS)}`);
    }
    const host = new PluginHost(m, {
      dataDir: this.deps.config.dataDir,
      runMarker: this.runMarker,
      cgroups: this.cgroups,
      maxLineBytes: this.deps.config.logs.maxLineBytes,
      modelsDir: this.deps.config.models?.dir,
      sharedStoreUrl: m.name === this.deps.config.auth.plugin && /^postgres(ql)?:\/\//.test(this.deps.config.storage.url ?? "") ? this.deps.config.storage.url : undefined,
      schemaCache: this.schemaCache,
      daemonVersion: this.deps.daemonVersion,
      logs: ring,
      lifecycle: (plugin, state, reason, instance) => {
        const ts = Date.now();
        const msg = `${instance ?? plugin} ${state}${reason ? `: ${reason}` : ""}`;
        this.deps.bus.publish({ kind: "lifecycle", ts, plugin, state, reason, instance });
        // The plugin's log ring tells its whole story, lifecycle included.
        this.ring(plugin).push({ kind: "log", ts, plugin, level: "info", msg, instance, stream: "daemon" });
        this.deps.logger.info({ plugin, instance, state }, msg);
      },
      log: (plugin, level, msg, fields, instance, stream) => this.log(plugin, level, msg, fields, instance, stream),
      emit: (plugin, event, data) => this.deps.bus.publish({ kind: "plugin", ts: Date.now(), plugin, event: `${plugin}.${event}`, data }),
      pluginCall: (h, params, link) => this.deps.pluginCall(h, params, link),
      builder: this.builder,
    });
    this.hosts.set(m.name, host);
    return host;
  }

  private log(plugin: string, level: string, msg: string, fields: Record<string, unknown> | undefined, instance: string | undefined, stream: "stderr" | "bkg/log" | "daemon"): void {
    const e = { kind: "log" as const, ts: Date.now(), plugin, level, msg, instance, stream, fields };
    this.ring(plugin).push(e);
    this.deps.bus.publish(e);
    // The plugin's ring, log file and subscribers get every line; the daemon's own log a bounded share.
    if (stream !== "daemon" && !this.logGate.admit(plugin, msg.length)) return;
    const lvl = (["trace", "debug", "info", "warn", "error", "fatal"].includes(level) ? level : "info") as "info";
    this.deps.logger[lvl]({ plugin, instance, stream, ...fields }, msg);
  }

  private ring(name: string): LogRing {
    let r = this.rings.get(name);
    if (!r) this.rings.set(name, (r = new LogRing(this.deps.config.limits.logLines)));
    return r;
  }

  logs(name: string, limit?: number) {
    return this.rings.get(name)?.tail(limit) ?? [];
  }

  private manifests(): Map<string, Manifest> {
    return new Map([...this.hosts].map(([n, h]) => [n, h.manifest]));
  }

  list(): PluginSummary[] {
    const out: PluginSummary[] = [...this.hosts.values()].map((h) => this.summary(h));
    for (const inv of this.invalid.values()) {
      if (inv.name && this.hosts.get(inv.name)?.manifest.file === inv.file) continue;
      out.push({
        name: basename(inv.file, ".json"),
        state: "invalid",
        reason: inv.problems.map((p) => `${p.path || "/"} ${p.message}`).join("; "),
        file: inv.file,
        instances: [],
        restarts: 0,
        queued: 0,
        problems: inv.problems.map((p) => ({ file: inv.file, ...p })),
      });
    }
    // Names are ASCII identifiers: code-unit order is the right order, and localeCompare (ICU)
    // made this the daemon's largest item while clients polled `bkg plugins list` during start-up.
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * One plugin's details. The manifest's env values and secret-looking config are redacted
   * unless `secrets` is true (callers check that the principal is an admin who asked).
   */
  info(name: string, opts: { secrets?: boolean } = {}): PluginInfo | undefined {
    const h = this.hosts.get(name);
    if (!h) {
      const s = this.list().find((p) => p.name === name);
      return s ? { ...s, methods: [] } : undefined;
    }
    return {
      ...this.summary(h),
      ...(h.build ? { build: { ...h.build, progress: buildProgressLine(h.build) } } : {}),
      description: h.manifest.description,
      methods: h.methodList().map((d) => ({ name: d.name, description: d.description, streaming: d.streaming, paramsSchema: d.paramsSchema })),
      manifest: opts.secrets ? h.manifest : redactManifest(h.manifest),
      lastExit: h.lastExit,
      memory: describeMemoryEnforcement(h.manifest, this.cgroups.status, MEMORY_SAMPLE_MS),
    };
  }

  private summary(h: PluginHost): PluginSummary {
    const inv = this.invalid.get(h.manifest.file);
    return {
      name: h.name,
      state: h.state,
      reason: h.reason,
      version: h.manifest.version,
      file: h.manifest.file,
      activation: h.manifest.activation,
      instances: h.allInstances().map((i) => ({
        id: i.id,
        pid: i.pid,
        state: i.state,
        inflight: i.inflight,
        calls: i.calls,
        uptimeMs: Date.now() - i.startedAt,
        ...(i.usage ? { rssBytes: i.usage.rssBytes, cpu: Math.round(i.usage.cpu * 1000) / 1000 } : {}),
      })),
      restarts: h.restarts,
      queued: h.bulkhead.queued,
      ...(h.swapFailure ? { swapFailure: { ...h.swapFailure, at: new Date(h.swapFailure.at).toISOString() } } : {}),
      ...(h.build ? { build: summaryOfBuild(h.build) } : {}),
      ...(inv ? { problems: inv.problems.map((p) => ({ file: inv.file, ...p })) } : {}),
    };
  }
}

function summaryOfBuild(b: BuildStatus): Omit<BuildStatus, "tail"> & { progress: string } {
  const { tail: _tail, ...rest } = b;
  return { ...rest, progress: buildProgressLine(b) };
}
