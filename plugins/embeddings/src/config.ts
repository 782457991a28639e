/**
 * The plugin's settings, read once from the manifest's `config`. Every rejected value says the
 * field, what it got and what it needs, so a wrong manifest is fixed from the error alone.
 */
import { BkgError, ErrorCodes } from "@bkg/plugin-sdk";

export interface EmbeddingsConfig {
  /** The model used when a call names none. */
  defaultModel: string;
  /** onnxruntime intra-op threads for one inference run. */
  threads: number;
  /** Most texts in one inference run; a larger batch is split. */
  maxBatch: number;
  /** How long the first queued text waits for others to join its run, in ms. */
  maxWaitMs: number;
  /** Most texts in one call. */
  maxInputs: number;
}

export const DEFAULTS: EmbeddingsConfig = {
  defaultModel: "all-minilm-l6-v2",
  threads: 1,
  maxBatch: 64,
  maxWaitMs: 4,
  maxInputs: 2048,
};

const LIMITS: Record<Exclude<keyof EmbeddingsConfig, "defaultModel">, [number, number]> = {
  threads: [1, 64],
  maxBatch: [1, 1024],
  maxWaitMs: [0, 1000],
  maxInputs: [1, 100_000],
};

/** The config with defaults filled in; throws a BkgError naming the first bad field. */
export function readConfig(raw: Record<string, unknown>): EmbeddingsConfig {
  const out: EmbeddingsConfig = { ...DEFAULTS };
  for (const [key, [min, max]] of Object.entries(LIMITS) as [keyof typeof LIMITS, [number, number]][]) {
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new BkgError(ErrorCodes.PluginError, `embeddings config.${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    out[key] = v;
  }
  if (raw.defaultModel !== undefined) {
    if (typeof raw.defaultModel !== "string" || raw.defaultModel === "") {
      throw new BkgError(ErrorCodes.PluginError, `embeddings config.defaultModel must be a model name, got ${JSON.stringify(raw.defaultModel)}`);
    }
    out.defaultModel = raw.defaultModel;
  }
  return out;
}
