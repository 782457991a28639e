/**
 * The real candle plugin (manifests/candle.json, built by its manifest's cargo build step) for a
 * TestDaemon, and the model it needs. Cargo's target folder is ~/.cache/bkg/cargo-target/candle
 * (outside the repo, reused by every run and clone: a clean build takes minutes, a rebuild none).
 * The safetensors MiniLM comes from the model store's test cache (test/helpers/models.ts).
 */
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cargoTestBuildEnv } from "./cargo.js";
import { ROOT } from "./daemon.js";
import { testModelsDir } from "./models.js";

export const CANDLE_DIR = join(ROOT, "plugins", "candle");
export const CANDLE_MODEL = "all-minilm-l6-v2-candle";

/** The manifest as shipped, with an absolute cwd, eager, no watching, and the models folder in its env. */
export function candleManifest(modelsDir: string, config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const m = JSON.parse(readFileSync(join(ROOT, "manifests", "candle.json"), "utf8")) as Record<string, unknown>;
  delete m.$schema;
  return {
    ...m,
    cwd: CANDLE_DIR,
    activation: "eager",
    watch: [],
    // startTestDaemon makes a manifest's BKG_MODELS_DIR the daemon's models.dir (which the daemon hands to plugins).
    env: { BKG_MODELS_DIR: modelsDir },
    restart: { policy: "always", backoff: { initialMs: 20, maxMs: 200 } },
    config: { ...(m.config as object), ...config },
    ...extra,
  };
}

/** The daemon's environment for a candle test: cargo's shared target folder, no colours, clippy (test/helpers/cargo.ts). */
export function candleDaemonEnv(): Record<string, string> {
  return cargoTestBuildEnv("candle");
}

/** The folder holding all-minilm-l6-v2-candle, pulled once through the model store (about 91 MB). */
export async function candleModelDir(): Promise<string> {
  return join(await testModelsDir([CANDLE_MODEL]), CANDLE_MODEL);
}

/**
 * A models folder of its own for one test (it may add files the way the store would), with the
 * cached models linked in (all-minilm-l6-v2-candle unless others are named). Removed by the caller.
 */
export async function scratchModelsDir(names: string[] = [CANDLE_MODEL]): Promise<string> {
  const store = await testModelsDir(names);
  const dir = mkdtempSync(join(tmpdir(), "bkg-candle-models-"));
  for (const name of names) symlinkSync(join(store, name), join(dir, name), "dir");
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
