/**
 * The model store's `fold-dequantize` preparation step (catalog entry yunet-sface): folds each
 * fetched ONNX file (fold-dequantize.ts) in a worker thread and hands back the folded files,
 * named `<name without _int8bq>.f32.onnx`, for the store to checksum and keep.
 */
import { basename, join } from "node:path";
import { Worker } from "node:worker_threads";
import type { FoldReport } from "./fold-dequantize.js";

/** What the store gives a preparer: role -> fetched file, a private work folder, a cancel signal. */
export interface FoldInput {
  files: Record<string, string>;
  workDir: string;
  signal?: AbortSignal;
}

/** The stored name of a folded file: `face_detection_yunet_2023mar_int8bq.onnx` -> `face_detection_yunet_2023mar.f32.onnx`. */
export function foldedName(file: string): string {
  return `${basename(file)
    .replace(/\.onnx$/i, "")
    .replace(/_int8bq$/i, "")}.f32.onnx`;
}

/** Folds every role's file; resolves role -> folded file. Rejects with the file named when one cannot be folded. */
export async function foldDequantizeStep(input: FoldInput): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [role, file] of Object.entries(input.files)) {
    const target = join(input.workDir, foldedName(file));
    await foldInWorker(file, target, input.signal);
    out[role] = target;
  }
  return out;
}

/** Runs the fold of one file in a worker thread; a fired signal ends the worker and rejects. */
export function foldInWorker(source: string, target: string, signal?: AbortSignal): Promise<FoldReport> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error(`folding ${basename(source)} was cancelled`));
    // Beside this module: fold-worker.js when built, fold-worker.ts when run from source (tsx).
    const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
    const worker = new Worker(new URL(`./fold-worker${ext}`, import.meta.url), { workerData: { source, target } });
    const onAbort = () => void worker.terminate().then(() => reject(new Error(`folding ${basename(source)} was cancelled`)));
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.once("message", (m: { ok: boolean; report?: FoldReport; message?: string }) => {
      signal?.removeEventListener("abort", onAbort);
      void worker.terminate();
      if (m.ok) resolve(m.report!);
      else reject(new Error(`cannot prepare ${basename(source)}: ${m.message}`));
    });
    worker.once("error", (err) => {
      signal?.removeEventListener("abort", onAbort);
      reject(new Error(`cannot prepare ${basename(source)}: ${err.message}`));
    });
  });
}
