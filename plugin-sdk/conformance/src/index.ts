/**
 * @bkg/conformance: drives any plugin executable through bkg protocol v1 as the daemon would
 * and reports, case by case, what conforms and what does not.
 */
export { runConformance, conformanceCases, type ConformanceOptions, type ConformanceReport } from "./runner.js";
export type { Case, CaseResult } from "./case.js";
export type { PluginCommand } from "./spawn.js";
export { DEFAULT_TIMEOUTS, type Timeouts } from "./harness.js";
export { CONTRACT_METHODS, checkInitializeResult, type ConformanceMode } from "./handshake.js";
export { loadVectors, DEFAULT_VECTORS_DIR, type Vector, type VectorFile } from "./vectors.js";
export { mismatch, partialMismatch } from "./match.js";
