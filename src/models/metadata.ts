/**
 * What the store reads from a model's files for model.json `metadata`: the GGUF header for gguf;
 * for ONNX, each graph's inputs and outputs (`graphs`, by role).
 */
import { join } from "node:path";
import { ggufMetadata, readGgufHeader } from "./gguf-header.js";
import { ModelError } from "./model-errors.js";
import { readOnnxGraph, type OnnxGraphInfo } from "./onnx-graph.js";

/** Rejects with BadSource naming the file when a GGUF header or an ONNX graph cannot be read (wrong file, truncated). */
export async function readFileMetadata(format: string, files: Record<string, string>, dir: string): Promise<Record<string, unknown>> {
  if (format === "gguf" && files.model) {
    try {
      return ggufMetadata(await readGgufHeader(join(dir, files.model)));
    } catch (e) {
      throw new ModelError("BadSource", `${files.model} is not a usable GGUF file: ${(e as Error).message}`);
    }
  }
  if (format === "onnx") {
    const graphs: Record<string, OnnxGraphInfo> = {};
    for (const [role, file] of Object.entries(files)) {
      if (!file.endsWith(".onnx")) continue;
      try {
        graphs[role] = await readOnnxGraph(join(dir, file));
      } catch (e) {
        throw new ModelError("BadSource", `${file} is not a usable ONNX file: ${(e as Error).message}`);
      }
    }
    return Object.keys(graphs).length ? { graphs } : {};
  }
  return {};
}
