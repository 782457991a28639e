/**
 * The plugin's settings: the manifest's `config`, checked and defaulted once at activation.
 * docs/openai.md lists them.
 */
import { availableParallelism } from "node:os";

export interface Settings {
  /** The model a call gets when it names none. */
  defaultModel: string;
  /** Parallel sequences per loaded model: this many calls generate at once, the rest wait. */
  parallel: number;
  /** Tokens each sequence can hold (prompt + answer). */
  contextSize: number;
  /** CPU threads for evaluation; cores - 1 by default (at least 1), leaving one to the daemon. */
  threads: number;
  /**
   * CPU threads for a batch of several tokens (a prompt, or several sequences stepping together);
   * every core by default. A one-token step keeps `threads`.
   */
  threadsBatch: number;
  /** A model nobody used for this long is unloaded, freeing its memory. */
  keepAliveMs: number;
  /** How long a call may wait for a free sequence before it is refused with -33002 (capped by its deadline). */
  queueTimeoutMs: number;
  /** max_tokens when a call gives none. */
  defaultMaxTokens: number;
}

export const DEFAULT_MODEL = "smollm2-135m-instruct";

function int(config: Record<string, unknown>, key: string, fallback: number, min: number): number {
  const v = config[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new Error(`llmserver config "${key}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function readSettings(config: Record<string, unknown>): Settings {
  const model = config.defaultModel ?? DEFAULT_MODEL;
  if (typeof model !== "string" || model === "") throw new Error(`llmserver config "defaultModel" must be a model name, got ${JSON.stringify(model)}`);
  return {
    defaultModel: model,
    parallel: int(config, "parallel", 2, 1),
    contextSize: int(config, "contextSize", 2048, 64),
    threads: int(config, "threads", Math.max(1, availableParallelism() - 1), 1),
    threadsBatch: int(config, "threadsBatch", availableParallelism(), 1),
    keepAliveMs: int(config, "keepAliveMs", 300_000, 0),
    queueTimeoutMs: int(config, "queueTimeoutMs", 30_000, 0),
    defaultMaxTokens: int(config, "defaultMaxTokens", 256, 1),
  };
}
