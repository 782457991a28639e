/**
 * Separate thread counts for one-token steps and for batches, as llama.cpp's own server has
 * them (--threads and --threads-batch).
 *
 * node-llama-cpp 3.21 gives a context one thread count for every decode. Measured on a 2-core
 * machine (docs/benchmarks.md, llm): a step that decodes one token (one sequence generating) ran
 * at about half its speed with two threads, while a batch of several tokens (a prompt, or several
 * sequences stepping together) gained from the second. With one thread for both, four
 * concurrent streams gave 0.8-1.05x the tokens/s of one stream; with one thread per step and two
 * per batch, 1.12-1.24x.
 *
 * node-llama-cpp has no option for it, so this wraps three methods of the context's native
 * handle (`_ctx`): initBatch (which says how many tokens the next batch holds), setThreads (which
 * its thread splitter calls before every decode) and decodeBatch. The version is pinned in
 * package.json; if a later one lays its context out differently, nothing is wrapped and the
 * context keeps its one thread count (the caller logs that).
 */
import type { LlamaContext } from "node-llama-cpp";

interface NativeContext {
  initBatch(size: number): void;
  setThreads(threads: number): void;
  decodeBatch(): Promise<void>;
}

export interface BatchThreads {
  /** Threads for a decode of one token. */
  threads: number;
  /** Threads for a decode of more than one token. */
  threadsBatch: number;
}

/** True when the context now decodes batches with `threadsBatch` threads, false when it could not be wrapped. */
export function useBatchThreads(context: LlamaContext, { threads, threadsBatch }: BatchThreads): boolean {
  if (threadsBatch === threads) return true;
  const native = (context as unknown as { _ctx?: Partial<NativeContext> })._ctx;
  if (!native || typeof native.initBatch !== "function" || typeof native.setThreads !== "function" || typeof native.decodeBatch !== "function") return false;
  const initBatch = native.initBatch.bind(native);
  const setThreads = native.setThreads.bind(native);
  const decodeBatch = native.decodeBatch.bind(native);
  let tokens = 0;
  // What node-llama-cpp's thread splitter allots one-token steps (it shares cores between contexts).
  let allotted = threads;
  let applied = threads;
  // The native object's methods are read-only on its prototype; own properties shadow them.
  const define = <K extends keyof NativeContext>(name: K, fn: NativeContext[K]) => Object.defineProperty(native, name, { value: fn, configurable: true, writable: true });
  define("initBatch", (size: number) => {
    tokens = size;
    initBatch(size);
  });
  define("setThreads", (n: number) => {
    allotted = n;
  });
  define("decodeBatch", () => {
    const want = tokens > 1 ? threadsBatch : allotted;
    if (want !== applied) {
      setThreads(want);
      applied = want;
    }
    return decodeBatch();
  });
  return true;
}
