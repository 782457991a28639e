/**
 * What cases run against: the main plugin session (started by the handshake case, restarted
 * after any failing case so cases stay independent), fresh processes for lifecycle cases,
 * the runner's own data folder, and the cleanup that kills every child it started.
 */
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initializeParams, PLUGIN_NAME } from "./handshake.js";
import { PluginSession, type Answer } from "./session.js";
import type { PluginCommand } from "./spawn.js";
import { fail, preview } from "./util.js";

export interface Timeouts {
  /** How long a plugin has to answer `initialize` (the daemon's timeouts.start). */
  startMs: number;
  /** The default wait for an ordinary call's answer. */
  callMs: number;
  /** The wait for the 8 MiB calls. */
  largeMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { startMs: 10_000, callMs: 5_000, largeMs: 20_000 };

export interface CallOptions {
  timeoutMs?: number;
  /** Fields merged into the `_meta` the runner adds (deadline, caller). */
  meta?: Record<string, unknown>;
}

export class Harness {
  readonly dataRoot: string;
  readonly sessions: PluginSession[] = [];
  /** Set when the main session could not be started at all; later cases fail fast with it. */
  startFailure?: string;
  /** The main session's first answer to `initialize`, once the handshake case has it. */
  initializeResult?: unknown;
  private main?: PluginSession;
  private instances = 0;
  private closed = false;

  constructor(
    readonly spec: PluginCommand,
    readonly timeouts: Timeouts = DEFAULT_TIMEOUTS,
    /** The plugin name the runner uses in `initialize` and BKG_PLUGIN_NAME, as a manifest would. */
    readonly pluginName: string = PLUGIN_NAME,
  ) {
    this.dataRoot = mkdtempSync(join(tmpdir(), "bkg-conformance-"));
  }

  /** Starts a new plugin process (no handshake yet). */
  spawn(): PluginSession {
    if (this.closed) fail("not run: the run was stopped");
    const instanceId = `${this.pluginName}#${++this.instances}`;
    const dataDir = join(this.dataRoot, instanceId.replace("#", "-"));
    mkdirSync(dataDir, { recursive: true });
    const s = new PluginSession(this.spec, { name: this.pluginName, instanceId, dataDir });
    this.sessions.push(s);
    return s;
  }

  /** Sends `initialize` (with the given protocol version) and returns the plugin's answer. */
  initialize(s: PluginSession, protocolVersion?: string): Promise<Answer> {
    return s.request("initialize", initializeParams(s.instance.instanceId, s.instance.dataDir, protocolVersion, this.pluginName), this.timeouts.startMs);
  }

  /** Sends `initialized` and marks the session ready for calls. */
  ready(s: PluginSession): void {
    s.initialized = true;
    s.notify("initialized", {});
  }

  /**
   * Starts the main session: spawn, initialize, and (when the answer is a result) initialized.
   * Returns the answer for the handshake case to judge. Throws CaseFailure when there is none.
   */
  async startMain(): Promise<{ session: PluginSession; answer: Answer }> {
    const s = this.spawn();
    this.main = s;
    try {
      const answer = await this.initialize(s);
      if (answer.ok) {
        this.initializeResult = answer.result;
        this.ready(s);
      } else fail(`expected a result to initialize, got error ${answer.error.code} ${preview(answer.error.message)}`);
      return { session: s, answer };
    } catch (e) {
      this.startFailure = (e as Error).message;
      await s.kill();
      throw e;
    }
  }

  /** The live main session, restarting it if a previous case broke or discarded it. */
  async session(): Promise<PluginSession> {
    if (this.main && !this.main.dead) return this.main;
    if (this.startFailure) fail(`not run: the plugin could not be started (${this.startFailure})`);
    const s = this.spawn();
    this.main = s;
    const answer = await this.initialize(s).catch((e: Error) => fail(`could not restart the plugin for this case: ${e.message}`));
    if (!answer.ok) fail(`could not restart the plugin for this case: initialize answered error ${answer.error.code} ${preview(answer.error.message)}`);
    this.ready(s);
    return s;
  }

  /** Stops the main session (after a failing case) so the next case gets a fresh one. */
  async discardMain(): Promise<void> {
    const s = this.main;
    this.main = undefined;
    if (s && !s.exit) await s.kill();
  }

  /** Hands the main session to a case that ends it (shutdown); the next case starts another. */
  takeMain(): PluginSession | undefined {
    const s = this.main;
    this.main = undefined;
    return s;
  }

  /** Calls a plugin method on the main session, adding `_meta` as the daemon does. */
  async call(method: string, params: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<Answer> {
    const s = await this.session();
    return s.request(method, this.withMeta(params, opts), opts.timeoutMs ?? this.timeouts.callMs);
  }

  withMeta(params: Record<string, unknown>, opts: CallOptions = {}): Record<string, unknown> {
    const timeoutMs = opts.timeoutMs ?? this.timeouts.callMs;
    const given = typeof params._meta === "object" && params._meta !== null ? (params._meta as Record<string, unknown>) : {};
    return { ...params, _meta: { deadline: Date.now() + timeoutMs, caller: "cli", ...given, ...opts.meta } };
  }

  /** Every violation seen on any process's stdout during the run. */
  violations(): string[] {
    return this.sessions.flatMap((s) => s.violations.map((v) => `${s.instance.instanceId}: ${v}`));
  }

  /** Kills every process this run started and removes the data folder. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.sessions.map((s) => s.kill().catch(() => undefined)));
    try {
      rmSync(this.dataRoot, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
}
