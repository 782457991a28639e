/**
 * One plugin process and its protocol connection: handshake, calls, pings, and an exit report.
 * It does not decide about restarts; its owner (PluginHost) does.
 */
import type { ChildProcess } from "node:child_process";
// The three functions, not the package: semver's index loads 47 modules, these 22.
import coerce from "semver/functions/coerce.js";
import major from "semver/functions/major.js";
import satisfies from "semver/functions/satisfies.js";
import {
  BkgError,
  ErrorCodes,
  type FramingError,
  Methods,
  PROTOCOL_VERSION,
  RawJson,
  RpcPeer,
  withMember,
  type BkgCallParams,
  type CallMeta,
  type CancelToken,
  type EmitParams,
  type InitializeParams,
  type InitializeResult,
  type LogParams,
  type MethodDescriptor,
} from "@bkg/protocol";
import type { Manifest } from "../registry/index.js";
import { describeExit, type ExitInfo } from "./restart-policy.js";
import type { InstanceCgroups } from "./instance-cgroups.js";
import { reapInstance } from "./orphan-reaper.js";
import { resolveEnvReferences } from "./resolve-env-references.js";
import { checkLaunchable } from "./launch-check.js";
import { pluginArgv, pluginEnv, signalGroup, spawnPlugin } from "./spawn-plugin.js";
import { PluginRequest } from "./plugin-request.js";
import { cutMessage, markCut, readStderrLines, stderrHeadline } from "./stderr-lines.js";

/** Where a plugin's stderr line or bkg/log message is cut unless the daemon says otherwise (logs.maxLineBytes). */
const MAX_LINE_BYTES = 16 * 1024;

export type InstanceState = "spawning" | "initializing" | "ready" | "standby" | "draining" | "stopping" | "exited";

export interface InstanceExit extends ExitInfo {
  /** Why it ended, in words: "exited with code 3", "hung: 3 pings unanswered", "garbage on stdout: ...". */
  reason: string;
  /** True when the daemon asked it to stop (no restart follows). */
  expected: boolean;
  stderrTail: string[];
}

/** What a plugin's bkg/call inherits from the call it is made for (its `parent`), and its own cancellation. */
export interface CallLink {
  /** The outer call's deadline, cancellation and trace, when `parent` names a call in flight here. */
  parent?: { deadline?: number; cancel?: CancelToken; traceparent?: string };
  /** Aborted when the plugin sends $/cancelRequest for this bkg/call, or its process goes away. */
  cancel: CancelToken;
}

export interface InstanceHooks {
  /** A `bkg/call` from the plugin; resolve with the result or throw a BkgError. */
  onPluginCall(instance: PluginInstance, params: BkgCallParams, link: CallLink): Promise<unknown>;
  onLog(instance: PluginInstance, level: string, msg: string, fields: Record<string, unknown> | undefined, stream: "stderr" | "bkg/log"): void;
  onEmit(instance: PluginInstance, event: string, data: unknown): void;
  onExit(instance: PluginInstance, exit: InstanceExit): void;
}

export interface CallOptions {
  cancel?: CancelToken;
  onProgress?: (value: unknown) => void;
  /** The result may come back as RawJson (RpcPeer.send's rawResult): for a caller that only forwards it. */
  rawResult?: boolean;
}

const STDERR_TAIL = 50;
let progressSeq = 0;
let callSeq = 0;
const CANCELLED_PARENT_KEPT_MS = 10_000;

export class PluginInstance {
  state: InstanceState = "spawning";
  readonly startedAt = Date.now();
  /** Slots taken through the Bulkhead; owned by PluginHost. */
  inflight = 0;
  /** Latest sample of the process group: RSS and CPU share of one core (0..n). */
  usage?: { rssBytes: number; cpu: number; pids: number; at: number; cpuTicks: number; members: number[] };
  /** Set while a replacement is starting (memory limit), so one trigger replaces once. */
  replacing = false;
  /** Set once the hard memory limit killed it, so the fast sampler kills and logs once. */
  memoryKilled = false;
  /** What the host uses it for once ready: taking calls, a warm spare, or on its way out. */
  role: "serving" | "standby" | "retiring" = "serving";
  /** Its cgroup v2 leaf, where the daemon can make one (see instance-cgroups.ts). */
  private leaf?: string;
  calls = 0;
  info?: InitializeResult;
  private child?: ChildProcess;
  private connection?: RpcPeer;
  private readonly pending = new Map<number, PluginRequest>();
  private readonly progress = new Map<string, (value: unknown) => void>();
  /** Calls in flight to this instance by _meta.callId, for the bkg/calls they make. */
  private readonly inflightCalls = new Map<string, NonNullable<CallLink["parent"]>>();
  private readonly stderrTail: string[] = [];
  private exitInfo?: InstanceExit;
  private killReason?: string;
  private stopRequested = false;
  private forcedReason?: string;
  private pendingSeq = 0;
  private exitWaiters: ((e: InstanceExit) => void)[] = [];

  constructor(
    readonly id: string,
    readonly manifest: Manifest,
    private readonly dataDir: string,
    private readonly daemonVersion: string,
    private readonly hooks: InstanceHooks,
    /**
     * How its descendants are found when it ends: runMarker is BKG_DAEMON_RUN for the process
     * and everything it starts (see run-marker.ts); cgroups, where available, hold it in a leaf.
     * maxLineBytes: where its log lines are cut. modelsDir: the model store, given as BKG_MODELS_DIR.
     */
    private readonly tracking: { runMarker?: string; cgroups?: InstanceCgroups; maxLineBytes?: number; modelsDir?: string; extraEnv?: Record<string, string> } = {},
    /** The daemon's environment, which passEnv and {"$env"} references read. */
    private readonly daemonEnv: NodeJS.ProcessEnv = process.env,
  ) {}

  /** True when the instance runs under a cgroup memory.max (a hard cap the kernel keeps), not just sampling. */
  get hardMemoryCap(): boolean {
    return Boolean(this.tracking.cgroups?.capped(this.leaf));
  }

  /** Every process of the instance per its cgroup (setsid'ed descendants included), or undefined without one. */
  cgroupMembers(): number[] | undefined {
    return this.leaf ? this.tracking.cgroups!.members(this.leaf) : undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private label?: string;
  /** "<id>@<pid>" (echo#3@4242), made once: traced calls name the instance that served them. */
  get traceLabel(): string {
    if (this.label === undefined) {
      const pid = this.pid;
      if (pid === undefined) return `${this.id}@?`;
      this.label = `${this.id}@${pid}`;
    }
    return this.label;
  }

  get exited(): InstanceExit | undefined {
    return this.exitInfo;
  }

  get methods(): MethodDescriptor[] {
    return this.info?.methods ?? [];
  }

  /**
   * Spawns the process and performs the handshake within timeouts.start. Resolves with the
   * plugin's answer once `initialized` is sent; rejects with a BkgError (and the process is
   * killed) on any failure. Call once.
   */
  async start(): Promise<InitializeResult> {
    const m = this.manifest;
    // A reference to a variable the daemon lacks fails here, before anything is spawned.
    const env = pluginEnv(m, this.id, this.dataDir, this.daemonEnv, this.tracking.runMarker, this.tracking.modelsDir);
    if (this.tracking.extraEnv) Object.assign(env, this.tracking.extraEnv);
    const config = resolveEnvReferences(m.config, this.daemonEnv, { file: m.file, pointer: "/config" });
    checkLaunchable(m, pluginArgv(m)[0], env);
    const child = spawnPlugin(m, this.id, this.dataDir, env);
    this.child = child;
    if (child.pid) this.leaf = this.tracking.cgroups?.adopt(this.id, child.pid, m.limits.memoryHardMb);
    child.on("error", (e) => this.kill(`could not start ${JSON.stringify(m.command.join(" "))}: ${e.message}`));
    child.on("exit", (code, signal) => setTimeout(() => this.finish(code, signal), 200).unref());
    child.on("close", (code: number | null, signal: NodeJS.Signals | null) => this.finish(code, signal));
    child.stdin?.on("error", () => undefined);
    const maxLine = this.tracking.maxLineBytes ?? MAX_LINE_BYTES;
    readStderrLines(child.stderr!, maxLine, (raw, cut) => {
      const line = markCut(raw, cut, maxLine);
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
      this.hooks.onLog(this, "info", line, undefined, "stderr");
    });

    const connection = new RpcPeer(child.stdout!, child.stdin!, {
      maxMessageBytes: m.limits.maxMessageBytes,
      maxDepth: m.limits.jsonDepth,
      onTooDeep: (what) => this.hooks.onLog(this, "warn", `refused a message from the plugin: ${what} (limits.jsonDepth)`, undefined, "bkg/log"),
      // A plugin that stops reading its stdin is hung: its unread input is bounded, not buffered forever.
      onBackpressure: (waiting) => {
        if (waiting > 2 * m.limits.maxMessageBytes) this.kill(`hung: it stopped reading its stdin (${waiting} bytes unread, over twice limits.maxMessageBytes)`);
      },
      onFramingError: (err: FramingError) => {
        const what = err.kind === "too-large" ? "message over the size limit" : err.kind === "header" ? "garbage on stdout" : "invalid JSON on stdout";
        this.kill(`protocol violation (${what}): ${err.message}`);
      },
    });
    this.connection = connection;
    connection.onClose(() => {
      // No call may be routed to an instance that can no longer answer.
      if (this.state === "ready" || this.state === "standby") this.state = "stopping";
      // A process that closed its stdout but lives on is broken; one that is exiting is gone by then.
      setTimeout(() => this.kill("it closed its stdout"), 500).unref();
    });
    connection.onNotification(Methods.progress, (p: { token?: unknown; value?: unknown }) => {
      try {
        this.progress.get(String(p?.token))?.(p?.value);
      } catch (e) {
        // The caller's sink failed (its connection is gone, say): that is the caller's loss, not
        // a reason to stop reading this plugin's stdout.
        this.hooks.onLog(this, "warn", `a progress value could not be delivered: ${(e as Error).message}`, undefined, "bkg/log");
      }
    });
    connection.onRequest(Methods.call, (params: BkgCallParams, rctx) => {
      const parent = typeof params?.parent === "string" ? this.inflightCalls.get(params.parent) : undefined;
      return this.hooks.onPluginCall(this, params, { parent, cancel: rctx.token });
    });
    connection.onNotification(Methods.log, (p: LogParams) => {
      const { level, msg, ...fields } = p ?? ({} as LogParams);
      this.hooks.onLog(this, typeof level === "string" ? level : "info", cutMessage(String(msg ?? ""), maxLine), Object.keys(fields).length ? fields : undefined, "bkg/log");
    });
    connection.onNotification(Methods.emit, (p: EmitParams) => {
      if (p && typeof p.event === "string") this.hooks.onEmit(this, p.event, p.data);
    });
    connection.onRequest(Methods.ping, () => ({ now: Date.now() }));
    connection.listen();

    this.state = "initializing";
    const params: InitializeParams = {
      protocolVersion: PROTOCOL_VERSION,
      daemon: { version: this.daemonVersion },
      plugin: { name: m.name, instanceId: this.id, dataDir: this.dataDir },
      config,
    };
    let result: InitializeResult;
    try {
      result = (await this.request(Methods.initialize, params, { timeoutMs: m.timeouts.start, what: "the initialize handshake" })) as InitializeResult;
      this.checkInitialize(result);
    } catch (e) {
      const err = BkgError.from(e);
      this.kill(`handshake failed: ${err.message}`);
      // A plugin that refuses our protocol version will refuse it again: do not retry.
      if (err.code === ErrorCodes.ProtocolMismatch) throw new BkgError(err.code, err.message, { permanent: true });
      throw err;
    }
    this.info = result;
    connection.notify(Methods.initialized, {});
    this.state = "ready";
    return result;
  }

  private checkInitialize(r: InitializeResult): void {
    const m = this.manifest;
    if (!r || typeof r !== "object" || typeof r.protocolVersion !== "string" || !Array.isArray(r.methods)) {
      throw new BkgError(ErrorCodes.InvalidRequest, "initialize answer must have protocolVersion (string) and methods (array)");
    }
    const theirs = coerce(r.protocolVersion);
    const ours = major(PROTOCOL_VERSION);
    if (!theirs || major(theirs) !== ours || !satisfies(theirs, m.protocol)) {
      throw new BkgError(ErrorCodes.ProtocolMismatch, `protocol mismatch: plugin speaks ${r.protocolVersion}, the daemon speaks ${PROTOCOL_VERSION} and the manifest requires ${m.protocol}`, {
        permanent: true,
      });
    }
    const names = new Set(r.methods.map((x) => x?.name));
    const missing = m.provides.filter((p) => !names.has(p));
    if (missing.length) {
      throw new BkgError(ErrorCodes.InvalidRequest, `the manifest provides ${missing.join(", ")}, but the plugin announced only: ${[...names].join(", ") || "(none)"}`, { permanent: true });
    }
  }

  /**
   * Sends one call. Resolves with the result, rejects with a BkgError: the plugin's own error,
   * -33004 if the process dies first, or the abort's reason once opts.cancel aborts (the plugin is sent
   * $/cancelRequest). In-flight accounting lasts until the plugin really answers or dies.
   */
  call(method: string, params: Record<string, unknown> | RawJson, meta: CallMeta, opts: CallOptions = {}): Promise<unknown> {
    const what = `${this.manifest.name}.${method}`;
    if (!this.connection || this.exitInfo) return Promise.reject(this.goneError(what));
    // `meta` is the router's, made for this call: it is completed in place (this is the hot path).
    let token: string | undefined;
    if (opts.onProgress) {
      token = `${this.id}:${++progressSeq}`;
      this.progress.set(token, opts.onProgress);
      meta.progressToken = token;
    }
    this.calls++;
    const callId = String(++callSeq);
    meta.callId = callId;
    this.inflightCalls.set(callId, { deadline: meta.deadline, cancel: opts.cancel, traceparent: meta.traceparent });
    const cancel = opts.cancel;
    const settled = () => {
      if (token) this.progress.delete(token);
      // A cancelled call is settled here at once, but the plugin may still be winding it down and
      // make a bkg/call for it: that call must find its parent cancelled, not run unbounded.
      if (cancel?.aborted) setTimeout(() => this.inflightCalls.delete(callId), CANCELLED_PARENT_KEPT_MS).unref();
      else this.inflightCalls.delete(callId);
    };
    const withMeta = params instanceof RawJson ? new RawJson(withMember(params, "_meta", JSON.stringify(meta)), params.maxDepth) : { ...params, _meta: meta };
    return this.request(method, withMeta, { cancel, what, settled, raw: opts.rawResult });
  }

  /** Round-trip time of a bkg/ping in ms; rejects after timeoutMs. */
  async ping(timeoutMs: number): Promise<number> {
    const t0 = performance.now();
    await this.request(Methods.ping, {}, { timeoutMs, what: "bkg/ping" });
    return performance.now() - t0;
  }

  /** `settled` runs once when the request settles, before its promise does. */
  private request(method: string, params: unknown, o: { timeoutMs?: number; cancel?: CancelToken; what: string; settled?: () => void; raw?: boolean }): Promise<unknown> {
    const conn = this.connection;
    if (!conn || this.exitInfo) return Promise.reject(this.goneError(o.what));
    const cancel = o.cancel;
    const req = new PluginRequest(++this.pendingSeq, o.what, this.pending, cancel, o.settled);
    if (o.timeoutMs) req.timer = setTimeout(() => req.fail(new BkgError(ErrorCodes.DeadlineExceeded, `${o.what} got no answer within ${o.timeoutMs} ms`)), o.timeoutMs);
    if (cancel) {
      if (cancel.aborted) {
        req.onAbort(cancel.reason);
        return req.promise;
      }
      cancel.onAbort(req.onAbort);
    }
    try {
      conn.send(method, params, req, cancel, o.raw);
    } catch (e) {
      // Nothing was written: params JSON cannot encode (the router bounds depth first).
      req.fail(new BkgError(ErrorCodes.InvalidParams, `${o.what}: the params could not be encoded as JSON: ${(e as Error).message}`));
    }
    return req.promise;
  }

  private goneError(what: string): BkgError {
    const why = this.exitInfo?.reason ?? this.forcedReason ?? this.killReason ?? "the plugin process is gone";
    const said = stderrHeadline(this.stderrTail);
    if (!said) return new BkgError(ErrorCodes.PluginCrashed, `${this.id} ended before answering ${what}: ${why}`);
    return new BkgError(ErrorCodes.PluginCrashed, `${this.id} ended before answering ${what} (${why}): ${said}`, { stderr: said });
  }

  /**
   * Graceful stop: shutdown, exit, then SIGTERM and SIGKILL to the process group on the
   * manifest's timeouts. Resolves when the process has exited. Idempotent.
   */
  async stop(reason = "stopped"): Promise<InstanceExit> {
    if (this.exitInfo) return this.exitInfo;
    if (!this.stopRequested) {
      this.stopRequested = true;
      this.killReason = reason;
      this.state = "stopping";
      const t = this.manifest.timeouts;
      const exited = this.waitExit();
      const within = (ms: number) => Promise.race([exited.then(() => true), delay(ms).then(() => false)]);
      try {
        await Promise.race([this.request(Methods.shutdown, null, { timeoutMs: t.shutdown, what: "shutdown" }), exited]);
        this.connection?.notify(Methods.exit);
        this.connection?.flush();
        this.child?.stdin?.end();
      } catch {
        /* no answer: signals follow */
      }
      if (!(await within(t.shutdown))) {
        signalGroup(this.pid, "SIGTERM");
        if (!(await within(t.kill))) signalGroup(this.pid, "SIGKILL");
      }
    }
    return this.waitExit();
  }

  /**
   * Immediate SIGKILL of the whole group; `reason` becomes the exit's reason (and the message of
   * the calls it held). With `overrides`, it is the reason even if a graceful stop or another
   * kill came first (the memory ceiling uses it: its calls must say why). Idempotent.
   */
  kill(reason: string, overrides = false): void {
    if (this.exitInfo) return;
    if (overrides) this.forcedReason ??= reason;
    this.killReason ??= reason;
    if (this.state === "ready" || this.state === "standby") this.state = "stopping";
    signalGroup(this.pid, "SIGKILL");
    if (!this.child?.pid) this.finish(null, "SIGKILL");
  }

  waitExit(): Promise<InstanceExit> {
    if (this.exitInfo) return Promise.resolve(this.exitInfo);
    return new Promise((res) => this.exitWaiters.push(res));
  }

  private finish(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exitInfo) return;
    // The kernel's memory.max kill looks like any SIGKILL: say why, with the figure.
    if (signal === "SIGKILL" && !this.killReason && this.leaf && this.tracking.cgroups!.oomKills(this.leaf) > 0) {
      this.forcedReason = `killed by the kernel: over its hard memory limit of ${this.manifest.limits.memoryHardMb} MiB (cgroup memory.max; limits.memoryHardMb)`;
    }
    // Reap anything the plugin left behind: in its group, its cgroup, or carrying its mark.
    signalGroup(this.pid, "SIGKILL");
    if (this.leaf) this.tracking.cgroups!.killLeaf(this.leaf);
    else if (this.tracking.runMarker) void reapInstance(this.tracking.runMarker, this.id);
    const exit: InstanceExit = {
      code,
      signal,
      uptimeMs: Date.now() - this.startedAt,
      expected: this.stopRequested,
      reason: this.forcedReason ?? (this.killReason && !this.stopRequested ? this.killReason : describeExit({ code, signal })),
      stderrTail: [...this.stderrTail],
    };
    this.exitInfo = exit;
    this.state = "exited";
    for (const p of [...this.pending.values()]) p.fail(this.goneError(p.what));
    this.pending.clear();
    this.progress.clear();
    this.connection?.dispose();
    for (const w of this.exitWaiters) w(exit);
    this.exitWaiters = [];
    this.hooks.onExit(this, exit);
  }
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
