/** Where things are, from the compiled file's point of view (bench/dist/lib/paths.js). */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
export const BIN = join(ROOT, "bin", "bkg");
export const ECHO_DIR = join(ROOT, "plugins", "echo");
/** Compiled bench files (baselines and fixtures run from here). */
export const BENCH_DIST = join(ROOT, "bench", "dist");
export const BASELINES = join(BENCH_DIST, "baselines");
export const RESULTS_DIR = join(ROOT, "bench", "results");
export const DOCS_FILE = join(ROOT, "docs", "benchmarks.md");
