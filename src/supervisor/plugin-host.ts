/**
 * One PluginHost per plugin: it owns the plugin's instances across restarts and hot swaps,
 * moves the plugin through its state machine, and hands ready instances to the router.
 */
import { join } from "node:path";
import { BkgError, ErrorCodes, type Cancellation, type MethodDescriptor } from "@bkg/protocol";
import type { PluginState } from "../events/index.js";
import type { Manifest } from "../registry/index.js";
import { Bulkhead } from "./bulkhead.js";
import { assignRole, missingSpares, warmSpare } from "./generation-roles.js";
import { HealthMonitor } from "./health-monitor.js";
import { ManifestWatch } from "./manifest-watch.js";
import { memoryVerdict, usageFromSample } from "./memory-guard.js";
import type { BuildResult, BuildStatus } from "./plugin-builder.js";
import { newInstance, SETTLED, swapFailure, type Generation, type HostDepsOf, type LastExit, type SwapFailure } from "./plugin-host-types.js";
import { compileMethods, type MethodTable } from "./method-table.js";
import type { PluginInstance, InstanceExit } from "./plugin-instance.js";
import type { GroupUsage } from "./process-sampler.js";
import { canTransition, UNAVAILABLE } from "./plugin-state.js";
import { decide, EMPTY_HISTORY, type RestartHistory } from "./restart-policy.js";
import { StateWaiters } from "./state-waiters.js";

export type { LastExit, SwapFailure } from "./plugin-host-types.js";
export type HostDeps = HostDepsOf<PluginHost>;

const NO_INSTANCES: ReadonlySet<PluginInstance> = new Set();

export class PluginHost {
  state: PluginState;
  reason?: string;
  restarts = 0;
  lastExit?: LastExit;
  /** Problems with the newest manifest while the last valid one keeps serving. */
  manifestProblems?: string;
  /**
   * The last hot swap that failed while the previous version kept serving; kept (and shown by
   * list, status and info) until a swap succeeds, so a failure is seen where people look.
   */
  swapFailure?: SwapFailure;
  /** The manifest build step's latest run (shown by bkg plugins list / info). */
  build?: BuildStatus;
  /** Aborts the build under way (stop, or a newer manifest). */
  private buildAbort?: AbortController;
  /** A manifest whose build failed while the previous version kept serving: the next save retries it. */
  private unbuilt?: Manifest;
  private current?: Generation;
  private swapping?: Generation;
  private reloadAgain = false;
  private readonly draining = new Set<PluginInstance>();
  /** Instances waiting for their calls in flight to finish (a hot swap's drain, or a stop): see whenIdle. */
  private readonly idleWaiters = new Map<PluginInstance, () => void>();
  private history: RestartHistory = EMPTY_HISTORY;
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readonly waiters = new StateWaiters();
  private seq = 0;
  private idleTimer?: NodeJS.Timeout;
  private readonly files: ManifestWatch;
  readonly bulkhead: Bulkhead;
  private readonly health: HealthMonitor;

  constructor(
    public manifest: Manifest,
    private readonly deps: HostDeps,
    initial: PluginState = "stopped",
  ) {
    this.state = initial;
    this.bulkhead = new Bulkhead(
      manifest.name,
      () => ({ concurrency: this.manifest.concurrency, queue: this.manifest.queue }),
      // Every instance of the current generation: the bulkhead takes only ready ones, and
      // reading the Set itself makes no array per call.
      () => this.current?.instances ?? NO_INSTANCES,
    );
    this.health = new HealthMonitor(this, (inst, reason) => this.onUnresponsive(inst, reason));
    this.files = new ManifestWatch(
      (files) => {
        if (this.state === "stopped" || this.state === "stopping") return;
        const shown = files.slice(0, 3).join(", ") + (files.length > 3 ? ` and ${files.length - 3} more` : "");
        void this.reload(this.unbuilt ?? this.manifest, `files changed: ${shown}`);
      },
      (message) => this.deps.log(this.name, "warn", message, undefined, undefined, "daemon"),
    );
  }

  get name(): string {
    return this.manifest.name;
  }

  get dataDir(): string {
    return join(this.deps.dataDir, "plugins", this.name);
  }

  /** Ready instances of the generation that takes new calls. */
  serving(): PluginInstance[] {
    return this.current ? [...this.current.instances].filter((i) => i.state === "ready") : [];
  }

  /** serving().length > 0 without the two arrays (the router asks on every call). */
  hasServing(): boolean {
    if (this.current) for (const i of this.current.instances) if (i.state === "ready") return true;
    return false;
  }

  allInstances(): PluginInstance[] {
    return [...(this.current?.instances ?? []), ...(this.swapping?.instances ?? []), ...this.draining];
  }

  get methods(): MethodTable | undefined {
    return this.current?.methods;
  }

  methodList(): MethodDescriptor[] {
    return this.current?.methods ? [...this.current.methods.values()].map((m) => m.descriptor) : [];
  }

  /** Starts the plugin (a no-op when it is already running). Clears a crash loop or failure. */
  start(reason = "started"): void {
    if (this.current && !UNAVAILABLE.has(this.state) && this.state !== "idle") return;
    if (this.buildAbort) return; // building for a start already
    this.clearRestarts();
    this.history = EMPTY_HISTORY;
    if (this.manifest.activation === "lazy" && reason !== "first call") {
      this.setState("idle", "lazy: starts on its first call");
      return;
    }
    if (this.manifest.build && this.deps.builder) return void this.buildThenStart(reason);
    this.spawnGeneration(reason);
  }

  /** The build step first (skipped when its inputs did not change), then the instances. */
  private async buildThenStart(reason: string): Promise<void> {
    this.files.sync(this.manifest); // a save fixing a failed build retries it
    const m = this.manifest;
    const r = await this.runBuild(m, reason);
    if (r === "cancelled") return;
    if (!r.ok) {
      this.setState("build-failed", r.error);
      this.bulkhead.rejectAll(this.unavailable());
      return;
    }
    this.spawnGeneration(r.skipped ? reason : `${reason}; built in ${((this.build?.durationMs ?? 0) / 1000).toFixed(1)} s`);
  }

  /** Runs `m`'s build in state `building`; "cancelled" when stop() or a newer manifest aborted it. */
  private async runBuild(m: Manifest, reason: string): Promise<BuildResult | "cancelled"> {
    const ctl = new AbortController();
    this.buildAbort?.abort();
    this.buildAbort = ctl;
    this.setState("building", `${reason}: checking the build's inputs`);
    const r = await this.deps.builder!.ensureBuilt(this.name, m.build!, (s) => (this.build = { ...s }), ctl.signal);
    if (this.buildAbort === ctl) this.buildAbort = undefined;
    return ctl.signal.aborted ? "cancelled" : r;
  }

  private spawnGeneration(reason: string): void {
    this.setState("starting", reason);
    this.files.sync(this.manifest); // a change of the `watch` globs hot-swaps the plugin
    this.current = { manifest: this.manifest, instances: new Set() };
    for (let i = 0; i < this.manifest.instances + this.manifest.standby; i++) this.spawnInto(this.current);
  }

  /**
   * Resolves when a call can be routed (an instance is ready), starting a lazy plugin. Rejects
   * with -33000 when the plugin is unavailable, or with the signal's reason when it aborts.
   */
  async waitReady(cancel?: Cancellation): Promise<void> {
    for (;;) {
      if (this.serving().length) return;
      if (this.state === "idle") this.start("first call");
      else if (UNAVAILABLE.has(this.state)) throw this.unavailable();
      if (cancel?.aborted) throw cancel.reason;
      await this.waiters.next(cancel);
    }
  }

  /**
   * Resolves with the state once the plugin has settled (ready, idle, stopped, failed, crash loop,
   * or a manifest problem), or when `timeoutMs` passes (then `settled` is false). Never starts or
   * stops anything itself: it is how `bkg plugins start` waits for the outcome it asked for.
   */
  async settled(timeoutMs: number): Promise<{ settled: boolean; state: PluginState; reason?: string }> {
    const until = Date.now() + timeoutMs;
    while (!SETTLED.has(this.state) || (this.state === "ready" && this.swapping)) {
      const left = until - Date.now();
      if (left <= 0) return { settled: false, state: this.state, reason: this.reason };
      await this.waiters.nextWithin(left);
    }
    return { settled: true, state: this.state, reason: this.reason };
  }

  unavailable(): BkgError {
    const why = this.reason ? `: ${this.reason}` : "";
    const hint = this.state === "crashloop" || this.state === "failed" || this.state === "build-failed" || this.state === "stopped" ? ` (bkg plugins start ${this.name} to retry)` : "";
    return new BkgError(ErrorCodes.PluginUnavailable, `plugin ${this.name} is ${this.state}${why}${hint}`, { state: this.state });
  }

  /** Marks one call done on an instance (after `bulkhead.acquire`). */
  release(inst: PluginInstance): void {
    this.bulkhead.release(inst);
    if (inst.inflight === 0 && this.idleWaiters.size > 0) this.idleWaiters.get(inst)?.();
    if (this.manifest.activation === "lazy") this.armIdle();
  }

  /**
   * Hot swap: starts `next` beside the running generation, routes new calls to it once every
   * new instance is ready, then drains and stops the old one. If the new version fails to
   * start, the old keeps serving and the failure is reported. A plugin that is not running
   * just takes the new manifest (and starts, unless it was stopped on purpose).
   */
  async reload(next: Manifest = this.manifest, reason = "reload"): Promise<void> {
    if (this.swapping) {
      this.manifest = next;
      this.reloadAgain = true;
      return;
    }
    const wasStopped = this.state === "stopped" || this.state === "stopping";
    this.unbuilt = undefined;
    if (!this.current || this.serving().length === 0) {
      this.manifest = next;
      if (!wasStopped) {
        this.buildAbort?.abort(); // a build for the previous manifest or sources: start over
        this.buildAbort = undefined;
        await this.stopInstances(`replaced: ${reason}`);
        this.current = undefined;
        this.start(reason);
      }
      return;
    }
    const gen: Generation = { manifest: next, instances: new Set() };
    this.swapping = gen;
    this.manifest = next;
    this.files.sync(this.manifest); // a change of the `watch` globs hot-swaps the plugin
    if (next.build && this.deps.builder) {
      const built = await this.runBuild(next, reason);
      if (built === "cancelled" || !built.ok) {
        this.swapping = undefined;
        if (built !== "cancelled" && this.current) {
          // The old version keeps serving; the next save (or bkg plugins reload) retries this manifest.
          this.unbuilt = this.manifest; // `next`, or a newer one that arrived during the build
          this.manifest = this.current.manifest;
          const why = `build failed, still serving the previous version: ${built.error}`;
          this.deps.log(this.name, "error", why, undefined, undefined, "daemon");
          this.setState(this.serving().length ? "ready" : "build-failed", why);
        }
        return this.reloadIfAsked();
      }
    }
    this.setState("swapping", reason);
    const started = await Promise.all(Array.from({ length: next.instances }, () => this.startInstance(gen)));
    const failed = started.find((r) => r instanceof BkgError) as BkgError | undefined;
    this.swapping = undefined;
    if (failed || !gen.methods) {
      await Promise.all([...gen.instances].map((i) => i.stop("swap failed")));
      const why = `swap failed, still serving the previous version: ${failed?.message ?? "no instance became ready"}`;
      this.swapFailure = swapFailure(next, this.current.manifest, failed);
      this.manifest = this.current.manifest;
      this.deps.log(this.name, "error", why, undefined, undefined, "daemon");
      this.setState(this.serving().length ? "ready" : "restarting", why);
    } else {
      const old = this.current;
      this.current = gen;
      this.swapFailure = undefined;
      this.setState("swapped", `now serving ${next.version} (${reason})`);
      this.setState("ready", `serving ${next.version}`);
      this.bulkhead.wake();
      for (const inst of old.instances) this.drain(inst);
      this.topUpStandby(gen);
    }
    await this.reloadIfAsked();
  }

  private async reloadIfAsked(): Promise<void> {
    if (!this.reloadAgain) return;
    this.reloadAgain = false;
    await this.reload(this.unbuilt ?? this.manifest, "a newer change arrived during the swap");
  }

  /** Stops every instance (graceful), cancels pending restarts, rejects queued calls. Idempotent. */
  async stop(reason = "stopped"): Promise<void> {
    this.clearRestarts();
    clearTimeout(this.idleTimer);
    this.buildAbort?.abort();
    this.buildAbort = undefined;
    if (this.state !== "stopped") this.setState("stopping", reason);
    this.bulkhead.rejectAll(this.unavailable());
    void this.files.close();
    await this.stopInstances(reason);
    this.current = undefined;
    this.setState("stopped", reason);
  }

  /**
   * Stops every instance. One with calls in flight first takes no new ones and is given
   * min(timeouts.drain, timeouts.shutdown) to finish them (a daemon leaving a cluster, a rolling
   * upgrade, `bkg plugins stop`): `shutdown` and `exit` would otherwise cut them off with -33004.
   */
  private async stopInstances(reason: string): Promise<void> {
    const all = this.allInstances();
    this.swapping = undefined;
    this.draining.clear();
    await Promise.all(
      all.map(async (i) => {
        if (i.inflight > 0 && i.state === "ready") {
          i.state = "draining";
          await this.whenIdle(i, Math.min(i.manifest.timeouts.drain, i.manifest.timeouts.shutdown));
        }
        await i.stop(reason);
      }),
    );
  }

  /** Resolves when `inst` has no call in flight, has exited, or after `ms`, whichever is first. */
  private whenIdle(inst: PluginInstance, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.idleWaiters.get(inst) === done) this.idleWaiters.delete(inst);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.idleWaiters.set(inst, done);
      void inst.waitExit().then(done);
    });
  }

  private spawnInto(gen: Generation): void {
    void this.startInstance(gen).then((r) => {
      if (r instanceof BkgError && (r.data as { permanent?: boolean } | undefined)?.permanent) this.fail(r.message);
    });
  }

  /** Starts one instance into a generation; resolves with the instance or the start error. */
  private async startInstance(gen: Generation): Promise<PluginInstance | BkgError> {
    const id = `${this.name}#${++this.seq}`;
    const inst = newInstance(this, this.deps, id, gen.manifest, (i, exit) => this.onExit(gen, i, exit));
    gen.instances.add(inst);
    this.deps.lifecycle(this.name, "starting", `spawning ${gen.manifest.command.join(" ")}`, id);
    try {
      const info = await inst.start();
      if (!gen.methods) gen.methods = compileMethods(this.name, info.methods, this.deps.schemaCache);
      if (info.name !== this.name) this.deps.log(this.name, "warn", `plugin announced itself as "${info.name}"; it is routed as "${this.name}"`, undefined, id, "daemon");
    } catch (e) {
      const err = BkgError.from(e);
      inst.kill(`start failed: ${err.message}`);
      gen.instances.delete(inst);
      return err;
    }
    if (gen !== this.current && gen !== this.swapping) {
      void inst.stop("generation retired before it was ready");
      return new BkgError(ErrorCodes.PluginUnavailable, "generation retired");
    }
    if (gen === this.current && !assignRole(gen, inst)) return inst;
    this.deps.lifecycle(this.name, "ready", inst.role === "standby" ? `pid ${inst.pid}, warm standby` : `pid ${inst.pid}`, id);
    this.health.watch(inst);
    // A stop that began during the handshake is stopping this instance too: it does not make the plugin ready.
    if (gen === this.current && inst.role === "serving" && this.state !== "stopping" && this.state !== "stopped") {
      if (this.state !== "ready" && this.state !== "swapping") this.setState("ready", `pid ${inst.pid}`);
      this.bulkhead.wake();
      this.notifyWaiters();
      if (this.manifest.activation === "lazy") this.armIdle();
    }
    return inst;
  }

  /** Hands a dead serving instance's place to a warm spare at once. */
  private promoteStandby(gen: Generation, dead: PluginInstance): void {
    const spare = warmSpare(gen);
    if (!spare) return;
    spare.role = "serving";
    spare.state = "ready";
    this.deps.lifecycle(this.name, "ready", `warm standby ${spare.id} took over from ${dead.id}`, spare.id);
    if (this.state !== "ready" && this.state !== "swapping") this.setState("ready", `warm standby ${spare.id} took over`);
    this.bulkhead.wake();
    this.notifyWaiters();
  }

  /** Starts the spares a generation should have (after a hot swap). */
  private topUpStandby(gen: Generation): void {
    const missing = missingSpares(gen);
    for (let i = 0; i < missing; i++) this.spawnInto(gen);
  }

  /**
   * A graceful replacement (memory limit): a new instance starts first, takes the old one's
   * place once ready, and the old one drains. Idempotent per instance.
   */
  replace(inst: PluginInstance, reason: string): void {
    const gen = this.current;
    if (!gen?.instances.has(inst) || inst.replacing) return;
    inst.replacing = true;
    const wasServing = inst.role === "serving";
    inst.role = "retiring";
    this.deps.lifecycle(this.name, "restarting", `${inst.id}: ${reason}; starting its replacement first`, inst.id);
    if (!wasServing) return void this.retireNow(inst, reason);
    void this.startInstance(gen).then(() => this.retireNow(inst, reason));
  }

  private retireNow(inst: PluginInstance, reason: string): void {
    if (inst.state === "exited") return;
    this.drain(inst);
    this.deps.log(this.name, "info", `${inst.id} retired: ${reason}`, undefined, inst.id, "daemon");
  }

  private onExit(gen: Generation, inst: PluginInstance, exit: InstanceExit): void {
    this.health.unwatch(inst);
    gen.instances.delete(inst);
    this.draining.delete(inst);
    if (exit.expected || (gen !== this.current && gen !== this.swapping)) return;
    if (inst.role === "serving" && gen === this.current) this.promoteStandby(gen, inst);
    const now = Date.now();
    this.lastExit = { ...exit, at: now, instance: inst.id };
    this.deps.lifecycle(this.name, "crashed", `${inst.id} ${exit.reason} after ${Math.round(exit.uptimeMs)} ms`, inst.id);
    this.deps.log(this.name, "warn", `${inst.id} ${exit.reason}`, { uptimeMs: exit.uptimeMs, code: exit.code, signal: exit.signal, lastStderr: exit.stderrTail.slice(-5) }, inst.id, "daemon");
    if (gen === this.swapping) return; // the swap reports its own failure
    if (this.state === "stopping" || this.state === "stopped" || this.state === "failed") return;
    const d = decide(exit, gen.manifest.restart, this.history, now);
    this.history = d.history;
    if (d.action === "restart") {
      this.restarts++;
      this.lastExit.nextRetryAt = now + d.delayMs;
      const reason = `${inst.id} ${exit.reason}; restart #${this.restarts} in ${d.delayMs} ms`;
      if (this.serving().length === 0) this.setState("restarting", reason);
      else this.deps.lifecycle(this.name, "restarting", reason, inst.id);
      const timer = setTimeout(() => {
        this.restartTimers.delete(timer);
        if (gen === this.current) this.spawnInto(gen);
      }, d.delayMs);
      this.restartTimers.add(timer);
    } else if (d.action === "crashloop") {
      this.setState("crashloop", `${d.reason}; last: ${exit.reason}`);
      this.bulkhead.rejectAll(this.unavailable());
      void this.stopInstances("crash loop");
      this.current = undefined;
      this.notifyWaiters();
    } else if (this.serving().length === 0 && gen.instances.size === 0) {
      this.setState("stopped", `${exit.reason} (${d.reason})`);
      this.current = undefined;
      this.notifyWaiters();
    }
  }

  /**
   * Takes a /proc sample: records each instance's RSS, CPU and members, and enforces its memory
   * limits (see enforceMemory).
   */
  takeSample(groups: ReadonlyMap<number, GroupUsage>, now: number, ticksPerSecond = 100): void {
    for (const inst of this.allInstances()) {
      const g = inst.pid ? groups.get(inst.pid) : undefined;
      if (!g) continue;
      inst.usage = usageFromSample(inst, g, now, ticksPerSecond);
      this.enforceMemory(inst, g.rssBytes, g.pids.length);
    }
  }

  /** Instances with a memory limit, for the fast sampler (statm of their known members). */
  memoryLimited(): PluginInstance[] {
    return this.allInstances().filter((i) => i.manifest.limits.memoryMb && i.pid && i.state !== "exited");
  }

  /**
   * Over limits.memoryHardMb: killed at once (its calls fail with -33004 giving the figure), and
   * the restart policy replaces it. Over limits.memoryMb: replaced gracefully (a new instance
   * first; the old one finishes its calls). Idempotent per instance.
   */
  enforceMemory(inst: PluginInstance, rssBytes: number, processes: number): void {
    const v = memoryVerdict(inst, rssBytes, processes);
    if (!v) return;
    if (v.action === "kill") inst.memoryKilled = true;
    this.deps.log(this.name, "warn", v.log, v.fields, inst.id, "daemon");
    if (v.action === "kill") inst.kill(v.why, true);
    else this.replace(inst, v.why);
  }

  private onUnresponsive(inst: PluginInstance, reason: string): void {
    this.deps.lifecycle(this.name, "unresponsive", reason, inst.id);
  }

  private fail(reason: string): void {
    this.clearRestarts();
    this.setState("failed", reason);
    this.bulkhead.rejectAll(this.unavailable());
    void this.stopInstances("failed");
    this.current = undefined;
    this.notifyWaiters();
  }

  private drain(inst: PluginInstance): void {
    // Pings go on while it drains: a draining instance that hangs is killed as hung, not left to the drain timeout.
    inst.state = "draining";
    this.draining.add(inst);
    if (inst.inflight === 0) return void this.retire(inst, "drained");
    const ms = inst.manifest.timeouts.drain;
    void this.whenIdle(inst, ms).then(() => this.retire(inst, inst.inflight === 0 ? "drained" : `drain timeout (${ms} ms) with ${inst.inflight} calls in flight`));
  }

  private async retire(inst: PluginInstance, why: string): Promise<void> {
    if (!this.draining.delete(inst)) return;
    this.deps.lifecycle(this.name, "stopping", `old instance ${inst.id} ${why}`, inst.id);
    await inst.stop(why);
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      const busy = this.allInstances().some((i) => i.inflight > 0);
      if (busy || this.state !== "ready") return this.armIdle();
      void this.stopInstances(`idle for ${this.manifest.idleMs} ms`).then(() => {
        this.current = undefined;
        this.setState("idle", `stopped after ${this.manifest.idleMs} ms without calls`);
      });
    }, this.manifest.idleMs);
    this.idleTimer.unref();
  }

  private clearRestarts(): void {
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
  }

  /**
   * Moves the plugin to a new state and publishes it. An edge outside the table is a bug in the
   * host, logged at warn with `unexpectedTransition: true` (the e2e tests fail on such a line), not
   * thrown: the plugin keeps serving.
   */
  setState(to: PluginState, reason?: string): void {
    if (!canTransition(this.state, to)) {
      this.deps.log(this.name, "warn", `unexpected state change ${this.state} -> ${to}`, { unexpectedTransition: true, from: this.state, to, reason }, undefined, "daemon");
    }
    this.state = to;
    this.reason = reason;
    this.deps.lifecycle(this.name, to, reason);
    this.notifyWaiters();
  }

  private notifyWaiters(): void {
    this.waiters.notify();
  }
}
