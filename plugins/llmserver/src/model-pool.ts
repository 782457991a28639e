/**
 * Loaded models and their sequences. A model loads on its first call (concurrent first calls
 * share one load) into one context with `parallel` sequences; each call leases a sequence and
 * gives it back when it ends (answered, failed, cancelled or timed out), so a sequence is never
 * lost. Calls beyond `parallel` wait in order until one is free, at most queueTimeoutMs and
 * never past their deadline, then are refused with -33002 (429 on HTTP). A model nobody used
 * for keepAliveMs is unloaded.
 */
import { BkgError, ErrorCodes } from "@bkg/plugin-sdk";
import { getLlama, LlamaLogLevel, resolveChatWrapper, type ChatWrapper, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel } from "node-llama-cpp";
import { useBatchThreads } from "./batch-threads.js";
import { resolveModel, type GgufModel } from "./model-files.js";
import type { Settings } from "./settings.js";

/** What a call holds while it generates. `release` is idempotent. */
export interface Lease {
  name: string;
  model: LlamaModel;
  sequence: LlamaContextSequence;
  /** The model's chat template, resolved once at load (resolving it per call cost seconds). */
  chatWrapper: ChatWrapper;
  contextSize: number;
  release(): void;
}

interface Waiter {
  resolve(seq: LlamaContextSequence): void;
  reject(e: unknown): void;
}

interface Loaded {
  name: string;
  file: string;
  model: LlamaModel;
  context: LlamaContext;
  chatWrapper: ChatWrapper;
  free: LlamaContextSequence[];
  waiters: Waiter[];
  busy: number;
  idleTimer?: NodeJS.Timeout;
  lastUsed: number;
}

/** Give up waiting a little before the deadline, so the caller hears -33002 and not -33001. */
const DEADLINE_MARGIN_MS = 100;

let llamaPromise: Promise<Llama> | undefined;

/**
 * The llama.cpp binding, once per process: CPU only, the prebuilt binary (never a build), and
 * every log line of llama.cpp on stderr at warn and above. Its default logger writes info lines
 * with console.info, i.e. stdout, which is this plugin's protocol channel.
 */
export function llama(): Promise<Llama> {
  llamaPromise ??= getLlama({
    gpu: false,
    build: "never",
    progressLogs: false,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => process.stderr.write(`llama.cpp ${level}: ${message.trimEnd()}\n`),
  });
  return llamaPromise;
}

export class ModelPool {
  private readonly loaded = new Map<string, Loaded>();
  private readonly loading = new Map<string, Promise<Loaded>>();

  constructor(private readonly settings: Settings) {}

  /** Is `name` in memory now? */
  isLoaded(name: string): boolean {
    return this.loaded.has(name);
  }

  /** A loaded model's sequences: how many, how many leased, how many calls wait for one. */
  sequences(name: string): { total: number; busy: number; waiting: number } | undefined {
    const e = this.loaded.get(name);
    return e && { total: this.settings.parallel, busy: this.settings.parallel - e.free.length, waiting: e.waiters.length };
  }

  /** Leases a sequence of model `name`, loading the model first if needed. */
  async lease(name: string, signal: AbortSignal, deadline: number | undefined): Promise<Lease> {
    const entry = await this.load(resolveModel(name));
    signal.throwIfAborted();
    clearTimeout(entry.idleTimer);
    entry.busy++;
    let sequence: LlamaContextSequence;
    try {
      sequence = entry.free.pop() ?? (await this.wait(entry, signal, deadline));
    } catch (e) {
      entry.busy--;
      this.maybeIdle(entry);
      throw e;
    }
    let released = false;
    return {
      name,
      model: entry.model,
      sequence,
      chatWrapper: entry.chatWrapper,
      contextSize: sequence.contextSize,
      release: () => {
        if (released) return;
        released = true;
        entry.busy--;
        entry.lastUsed = Date.now();
        const next = entry.waiters.shift();
        if (next) next.resolve(sequence);
        else entry.free.push(sequence);
        this.maybeIdle(entry);
      },
    };
  }

  private wait(entry: Loaded, signal: AbortSignal, deadline: number | undefined): Promise<LlamaContextSequence> {
    const limit = Math.min(this.settings.queueTimeoutMs, deadline === undefined ? Infinity : deadline - Date.now() - DEADLINE_MARGIN_MS);
    return new Promise<LlamaContextSequence>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        const i = entry.waiters.indexOf(waiter);
        if (i >= 0) entry.waiters.splice(i, 1);
      };
      const waiter: Waiter = {
        resolve: (seq) => {
          done();
          resolve(seq);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      const onAbort = () => waiter.reject(signal.reason);
      const timer = setTimeout(
        () =>
          waiter.reject(
            new BkgError(
              ErrorCodes.Overloaded,
              `all ${this.settings.parallel} sequences of model "${entry.name}" stayed busy for ${Math.max(0, Math.round(limit))} ms; retry later, or raise llmserver's config "parallel"`,
              { reason: "sequences_busy", model: entry.name, parallel: this.settings.parallel, retryAfterSeconds: 1 },
            ),
          ),
        Math.max(0, limit),
      );
      signal.addEventListener("abort", onAbort, { once: true });
      entry.waiters.push(waiter);
    });
  }

  private maybeIdle(entry: Loaded): void {
    if (entry.busy > 0 || entry.waiters.length > 0) return;
    clearTimeout(entry.idleTimer);
    entry.idleTimer = setTimeout(() => void this.unload(entry.name), this.settings.keepAliveMs);
    entry.idleTimer.unref();
  }

  private load(m: GgufModel): Promise<Loaded> {
    const have = this.loaded.get(m.name);
    if (have) return Promise.resolve(have);
    let p = this.loading.get(m.name);
    if (!p) {
      p = this.doLoad(m).finally(() => this.loading.delete(m.name));
      this.loading.set(m.name, p);
    }
    return p;
  }

  private async doLoad(m: GgufModel): Promise<Loaded> {
    const l = await llama();
    let model: LlamaModel;
    try {
      model = await l.loadModel({ modelPath: m.file, gpuLayers: 0 });
    } catch (e) {
      // A corrupt or truncated file: say which, and stay up for the other models.
      throw new BkgError(ErrorCodes.PluginError, `cannot load model "${m.name}" from ${m.file}: ${(e as Error).message}; run \`bkg models verify ${m.name}\` or pull it again`, {
        reason: "model_load_failed",
        model: m.name,
        file: m.file,
      });
    }
    const { parallel, contextSize, threads, threadsBatch } = this.settings;
    let context: LlamaContext;
    try {
      context = await model.createContext({ sequences: parallel, contextSize: Math.min(contextSize, model.trainContextSize), threads });
    } catch (e) {
      await model.dispose();
      throw new BkgError(ErrorCodes.PluginError, `cannot create a context for model "${m.name}" (${parallel} x ${contextSize} tokens): ${(e as Error).message}`, { model: m.name });
    }
    if (!useBatchThreads(context, { threads, threadsBatch })) {
      process.stderr.write(`llmserver: this node-llama-cpp's context could not be given ${threadsBatch} threads for batches; every decode uses ${threads} (config "threads")\n`);
    }
    const free: LlamaContextSequence[] = [];
    for (let i = 0; i < parallel; i++) free.push(context.getSequence());
    // Which chat template the GGUF's metadata asks for: found once here, not by every LlamaChat.
    const chatWrapper = resolveChatWrapper(model);
    const entry: Loaded = { name: m.name, file: m.file, model, context, chatWrapper, free, waiters: [], busy: 0, lastUsed: Date.now() };
    this.loaded.set(m.name, entry);
    this.maybeIdle(entry);
    return entry;
  }

  /** Unloads a model nobody is using (a keep-alive timer, or shutdown). */
  async unload(name: string): Promise<void> {
    const entry = this.loaded.get(name);
    if (!entry || entry.busy > 0) return;
    this.loaded.delete(name);
    clearTimeout(entry.idleTimer);
    await entry.context.dispose();
    await entry.model.dispose();
  }

  async dispose(): Promise<void> {
    for (const e of this.loaded.values()) for (const w of e.waiters.splice(0)) w.reject(new BkgError(ErrorCodes.PluginUnavailable, "llmserver is shutting down"));
    await Promise.all([...this.loaded.keys()].map((n) => this.unload(n)));
  }
}
