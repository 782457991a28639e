/**
 * What the store reads from a model's files for model.json `metadata`: the GGUF header for gguf.
 * ONNX inputs/outputs are not read (the catalog states them for its entries).
 */
import { join } from "node:path";
import { ggufMetadata, readGgufHeader } from "./gguf-header.js";
import { ModelError } from "./model-errors.js";

/** Rejects with BadSource naming the file when a GGUF header cannot be read (not GGUF, truncated). */
export async function readFileMetadata(format: string, files: Record<string, string>, dir: string): Promise<Record<string, unknown>> {
  if (format !== "gguf" || !files.model) return {};
  try {
    return ggufMetadata(await readGgufHeader(join(dir, files.model)));
  } catch (e) {
    throw new ModelError("BadSource", `${files.model} is not a usable GGUF file: ${(e as Error).message}`);
  }
}
