/**
 * The pull's entry points as the folder exports them, loading pull.ts on the first pull: it
 * brings the download, archive, PyPI, GGUF/ONNX readers and the preparers (and worker_threads),
 * which a daemon that never pulls does not need to keep in memory.
 */
import type * as Pull from "./pull.js";

export const pullModel: typeof Pull.pullModel = async (what, opts) => (await import("./pull.js")).pullModel(what, opts);

export const pullPlanned: typeof Pull.pullPlanned = async (plan, opts) => (await import("./pull.js")).pullPlanned(plan, opts);
