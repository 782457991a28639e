/**
 * One running plugin process seen from the daemon's side of the pipe: frames out, frames in,
 * requests matched to answers, the plugin's own requests and notifications recorded, and
 * every breach of the wire rules written down as a violation. Nothing here waits without a
 * bound: every request has a timeout, and the process's exit or a framing error ends every
 * wait at once.
 */
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { encodeFrame, FrameParser, type FramingError, type WireError } from "@bkg/protocol";
import { killTree, spawnPlugin, type Instance, type PluginCommand } from "./spawn.js";
import { CaseFailure, isObject, preview, within } from "./util.js";

export type Answer = { ms: number; seq: number } & ({ ok: true; result: unknown } | { ok: false; error: WireError });

/** A message the plugin sent, numbered in arrival order across all kinds. */
export interface Incoming {
  seq: number;
  at: number;
  method: string;
  id?: string | number;
  params: unknown;
}

/** What a handler for the plugin's requests (bkg/call, ...) answers. */
export type Reply = { result: unknown } | { error: WireError };
export type RequestHandler = (req: Incoming) => Reply | Promise<Reply>;

interface Pending {
  method: string;
  sent: number;
  resolve: (a: Answer) => void;
  reject: (e: Error) => void;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const PLUGIN_NOTIFICATIONS = new Set(["$/progress", "$/cancelRequest", "bkg/emit", "bkg/log"]);
const STDERR_LINES = 20;

export class PluginSession {
  readonly child: ChildProcessWithoutNullStreams;
  readonly instance: Instance;
  /** The plugin's notifications and requests, in arrival order. */
  readonly received: Incoming[] = [];
  /** Every breach of the protocol seen on this process's stdout. */
  readonly violations: string[] = [];
  readonly stderr: string[] = [];
  /** Why the session can no longer be used (exited, garbage, spawn error); undefined while live. */
  dead?: string;
  exit?: ExitInfo;
  /** Set once `initialized` was sent: only then may the plugin call or emit. */
  initialized = false;
  /** True once the runner has SIGKILLed the process (so an exit after it is not the plugin's own). */
  killedByRunner = false;
  /** Why the process could not be started, if it could not. */
  spawnError?: string;
  /** Serves the plugin's requests; without one they get -32601. */
  onRequest?: RequestHandler;

  private nextId = 0;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  /** Requests the runner stopped waiting for: a late answer to one is not a violation. */
  private readonly abandoned = new Set<number>();
  private readonly listeners = new Set<() => void>();
  private readonly exitPromise: Promise<ExitInfo>;
  private stderrPartial = "";

  constructor(spec: PluginCommand, instance: Instance) {
    this.instance = instance;
    this.child = spawnPlugin(spec, instance);
    const parser = new FrameParser(
      (msg) => this.dispatch(msg),
      (err) => this.framingError(err),
    );
    this.child.stdout.on("data", (chunk: Buffer) => parser.push(chunk));
    this.child.stderr.setEncoding("utf8");
    this.child.stderr.on("data", (s: string) => this.keepStderr(s));
    this.child.stdin.on("error", () => {
      /* EPIPE after the plugin exited: the exit itself is what we report */
    });
    this.exitPromise = new Promise<ExitInfo>((resolve) => {
      this.child.on("error", (e) => {
        this.spawnError = `could not start ${preview(spec.command)}: ${e.message}`;
        this.die(this.spawnError);
        resolve({ code: null, signal: null });
      });
      this.child.on("exit", (code, signal) => {
        const exit = (this.exit = { code, signal });
        resolve(exit);
        // Answers may still sit in the pipe: give stdout a moment to drain before giving up.
        const gone = () => this.die(`the plugin exited (${describeExit(exit)})${this.stderrHint()}`);
        this.child.on("close", gone);
        setTimeout(gone, 1000).unref();
      });
    });
  }

  /** Sends a request; `answer` settles with the plugin's answer or rejects with a CaseFailure. */
  send(method: string, params: unknown, timeoutMs: number): { id: number; answer: Promise<Answer> } {
    const id = this.nextId++;
    const answer = new Promise<Answer>((resolve, reject) => {
      if (this.dead) return reject(new CaseFailure(`cannot send ${method}: ${this.dead}`));
      this.pending.set(id, { method, sent: Date.now(), resolve, reject });
      this.write({ jsonrpc: "2.0", id, method, params });
    });
    const bounded = within(answer, timeoutMs, `no answer to ${method} (id ${id}) within ${timeoutMs} ms`);
    bounded.catch(() => {
      if (this.pending.delete(id)) this.abandoned.add(id);
    });
    return { id, answer: bounded };
  }

  request(method: string, params: unknown, timeoutMs: number): Promise<Answer> {
    return this.send(method, params, timeoutMs).answer;
  }

  notify(method: string, params?: unknown): void {
    if (this.dead) return;
    this.write(params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params });
  }

  /** Resolves with the first received message (already received or arriving) that fits. */
  waitFor(pred: (m: Incoming) => boolean, timeoutMs: number, what: string): Promise<Incoming> {
    const found = this.received.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise<Incoming>((resolve, reject) => {
      const check = () => {
        const m = this.received.find(pred);
        if (m) return done(() => resolve(m));
        if (this.dead) return done(() => reject(new CaseFailure(`expected ${what}, but ${this.dead}`)));
      };
      const timer = setTimeout(() => done(() => reject(new CaseFailure(`expected ${what} within ${timeoutMs} ms, nothing arrived`))), timeoutMs);
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        f();
      };
      this.listeners.add(check);
    });
  }

  /** The exit, or undefined if the process is still running after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<ExitInfo | undefined> {
    if (this.exit) return this.exit;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, timeoutMs, undefined)));
    const r = await Promise.race([this.exitPromise, timeout]);
    clearTimeout(timer);
    return r;
  }

  closeStdin(): void {
    this.child.stdin.end();
  }

  /** Kills the process group and waits (briefly) for the exit. */
  async kill(): Promise<void> {
    this.die("the runner stopped the plugin");
    this.killTree();
    if (!this.exit && this.child.pid !== undefined) await this.waitForExit(2000);
  }

  private killTree(): void {
    if (!this.exit) this.killedByRunner = true;
    killTree(this.child);
  }

  private write(msg: unknown): void {
    this.child.stdin.write(encodeFrame(msg));
  }

  private dispatch(raw: unknown): void {
    const seq = ++this.seq;
    if (!isObject(raw) || raw.jsonrpc !== "2.0") {
      this.violations.push(`not a JSON-RPC 2.0 message (expected an object with "jsonrpc":"2.0"): ${preview(raw)}`);
      return;
    }
    if (typeof raw.method === "string") return this.incoming(raw, raw.method, seq);
    if ("method" in raw) return void this.violations.push(`"method" is not a string: ${preview(raw)}`);
    this.response(raw, seq);
  }

  private incoming(raw: Record<string, unknown>, method: string, seq: number): void {
    const hasId = "id" in raw && raw.id !== null && raw.id !== undefined;
    const m: Incoming = { seq, at: Date.now(), method, params: raw.params };
    if (hasId) {
      if (typeof raw.id !== "string" && typeof raw.id !== "number") {
        this.violations.push(`request id must be a string or a number, got ${preview(raw.id)} in ${preview(raw)}`);
        return;
      }
      m.id = raw.id;
    } else if (!PLUGIN_NOTIFICATIONS.has(method)) {
      this.violations.push(`unknown notification ${JSON.stringify(method)} (expected one of ${[...PLUGIN_NOTIFICATIONS].join(", ")})`);
    }
    if (!this.initialized && (method === "bkg/call" || method === "bkg/emit")) {
      this.violations.push(`${method} sent before the daemon's "initialized" notification`);
    }
    this.received.push(m);
    for (const l of [...this.listeners]) l();
    if (m.id !== undefined) void this.answer(m);
  }

  private async answer(m: Incoming): Promise<void> {
    let reply: Reply;
    try {
      reply = this.onRequest ? await this.onRequest(m) : { error: { code: -32601, message: `the conformance runner serves no ${JSON.stringify(m.method)} request right now` } };
    } catch (e) {
      reply = { error: { code: -32603, message: `conformance runner: ${(e as Error).message}` } };
    }
    this.write({ jsonrpc: "2.0", id: m.id, ...reply });
  }

  private response(raw: Record<string, unknown>, seq: number): void {
    const id = raw.id;
    const p = typeof id === "number" ? this.pending.get(id) : undefined;
    if (!p && typeof id === "number" && this.abandoned.delete(id)) return;
    if (!p) {
      this.violations.push(`an answer for id ${preview(id)}, which the runner never sent or already had answered: ${preview(raw)}`);
      return;
    }
    this.pending.delete(id as number);
    const ms = Date.now() - p.sent;
    const hasResult = "result" in raw;
    const hasError = "error" in raw;
    if (hasResult === hasError) {
      const v = `the answer to ${p.method} must have exactly one of "result" or "error", got ${preview(raw)}`;
      this.violations.push(v);
      return p.reject(new CaseFailure(v));
    }
    if (hasResult) return p.resolve({ ok: true, result: raw.result, ms, seq });
    const err = raw.error;
    if (!isObject(err) || !Number.isInteger(err.code) || typeof err.message !== "string") {
      const v = `the error answering ${p.method} must be {code: integer, message: string, data?}, got ${preview(err)}`;
      this.violations.push(v);
      return p.reject(new CaseFailure(v));
    }
    const error: WireError = { code: err.code as number, message: err.message };
    if ("data" in err) error.data = err.data;
    p.resolve({ ok: false, error, ms, seq });
  }

  private framingError(err: FramingError): void {
    const v = err.fatal ? `stdout carried bytes that are not a frame: ${err.message}` : `a frame's body is not JSON: ${err.message}`;
    this.violations.push(v);
    if (err.fatal) {
      this.die(v);
      this.killTree();
    }
  }

  private die(reason: string): void {
    if (this.dead) return;
    this.dead = reason;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      // Answers already in the pipe are still read after a kill; one of them is not a breach.
      this.abandoned.add(id);
      p.reject(new CaseFailure(`no answer to ${p.method} (id ${id}): ${reason}`));
    }
    for (const l of [...this.listeners]) l();
  }

  private keepStderr(s: string): void {
    const lines = (this.stderrPartial + s).split("\n");
    this.stderrPartial = lines.pop() ?? "";
    this.stderr.push(...lines);
    if (this.stderr.length > STDERR_LINES) this.stderr.splice(0, this.stderr.length - STDERR_LINES);
  }

  private stderrHint(): string {
    const last = [...this.stderr, this.stderrPartial].filter((l) => l.trim() !== "").pop();
    return last ? `; last stderr line: ${preview(last.trim(), 200)}` : "";
  }
}

export function describeExit(e: ExitInfo): string {
  return e.signal ? `signal ${e.signal}` : `code ${e.code}`;
}
