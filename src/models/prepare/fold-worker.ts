/**
 * Worker thread for the fold: reads one ONNX file, folds it, writes the result. Folding SFace
 * takes seconds of CPU; off the daemon's event loop, health pings and calls keep flowing.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { foldDequantize } from "./fold-dequantize.js";

const { source, target } = workerData as { source: string; target: string };
try {
  const { bytes, report } = foldDequantize(readFileSync(source));
  writeFileSync(target, bytes, { mode: 0o600 });
  parentPort!.postMessage({ ok: true, report });
} catch (err) {
  parentPort!.postMessage({ ok: false, message: (err as Error).message });
}
