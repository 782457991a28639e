import { ModelError } from "./model-errors.js";

/**
 * A model name is one folder below models.dir: lowercase letters, digits, ".", "_" and "-",
 * starting with a letter or digit, at most 64 characters. That rules out "/", "..", hidden
 * folders (the store's own .tmp and .locks) and anything a shell or URL would need to quote.
 */
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function isValidModelName(name: string): boolean {
  return NAME.test(name) && !name.includes("..");
}

/** Throws BadName unless `name` is a valid model name. */
export function checkModelName(name: string): string {
  if (typeof name !== "string" || !isValidModelName(name)) {
    throw new ModelError("BadName", `${JSON.stringify(name)} is not a valid model name: use 1-64 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit (no "/" or "..")`);
  }
  return name;
}

/** A model name made from a file name: "SmolLM2-135M.Q4_K_M.gguf" -> "smollm2-135m.q4_k_m". */
export function nameFromFile(fileName: string): string {
  const stem = fileName.replace(/\.(gguf|onnx|safetensors|bin)$/i, "");
  const cleaned = stem
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/\.{2,}/g, ".")
    .replace(/^[._-]+/, "")
    .slice(0, 64);
  return cleaned || "model";
}
