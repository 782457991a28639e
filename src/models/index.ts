/** The model store: the catalog, sources, pulls into <models.dir>/<name>/ with model.json (docs/models.md). */
export { CATALOG, catalogEntry, unknownModel, type CatalogEntry, type CatalogFile } from "./catalog.js";
export { ModelError, MODEL_ERRORS, notPulledMessage, type ModelErrorCode } from "./model-errors.js";
export { checkModelName, isValidModelName } from "./model-name.js";
export { listModelRecords, readModelRecord, modelFilePaths, MODEL_RECORD_FILE, type ModelRecord, type ModelFormat } from "./model-record.js";
export { parseSource, looksLikeSource, type Source } from "./source-uri.js";
export { planPull, type PullPlan } from "./pull-plan.js";
export type { PullOptions, PullProgress, PullResult } from "./pull.js";
export { pullModel, pullPlanned } from "./pull-lazy.js";
export { removeLeftovers } from "./leftovers.js";
export { verifyModel, sha256File, type VerifyProblem } from "./verify.js";
export type { Preparer, PrepareInput, PrepareOutput } from "./prepare/index.js";
export { ModelService, toRow, type PullStatus, type StartPullOptions } from "./model-service.js";
