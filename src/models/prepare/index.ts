/**
 * Preparation steps: named transformations a catalog entry applies to its fetched files before
 * they are stored (yunet-sface folds its block-quantized DequantizeLinear nodes into float32).
 * A preparer lives in its own file in this folder and gets one line in PREPARERS.
 */
import { foldDequantizeStep } from "./fold-dequantize-step.js";

export interface PrepareInput {
  /** role -> absolute path of the fetched (sha256-checked) file, in a private work folder. */
  files: Record<string, string>;
  /** A folder the preparer may write its results into; removed after the pull. */
  workDir: string;
  signal?: AbortSignal;
}

/** role -> absolute path of the file to store for that role (its base name becomes the stored name). */
export type PrepareOutput = Record<string, string>;

export type Preparer = (input: PrepareInput) => Promise<PrepareOutput>;

/** Every preparation step by name. */
export const PREPARERS: Readonly<Record<string, Preparer>> = { "fold-dequantize": foldDequantizeStep };

export function findPreparer(name: string, table: Readonly<Record<string, Preparer>> = PREPARERS): Preparer | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}
