/**
 * The model store's errors: a code a program can branch on, a message a person can act on, and
 * the HTTP status the control API answers with. Thrown by the store, turned into wire errors by
 * the control methods (InvalidParams for bad input, MethodNotFound for a model that is not there).
 */
export const MODEL_ERRORS = {
  /** The name is not a catalog entry and not a URI or a file (the message lists the catalog). */
  UnknownModel: 404,
  /** A model name with characters that could escape the models folder, or too long. */
  BadName: 400,
  /** The model is not in the models folder. */
  NotPulled: 404,
  /** A source string that none of the source kinds accepts. */
  BadSource: 400,
  /** Every source of a file failed; the message lists each with its reason. */
  FetchFailed: 502,
  /** A downloaded file's sha256 (or size) is not the expected one; nothing was kept. */
  Sha256Mismatch: 502,
  /** The catalog entry names a preparation step that no preparer implements. */
  NoPreparer: 501,
  /** A preparation step failed. */
  PrepareFailed: 500,
  /** The disk is full or the folder is not writable. */
  NoSpace: 507,
  /** A stored model's files do not match its model.json. */
  VerifyFailed: 409,
  /** The pull was cancelled. */
  Cancelled: 499,
} as const;

export type ModelErrorCode = keyof typeof MODEL_ERRORS;

export class ModelError extends Error {
  readonly http: number;
  constructor(
    readonly code: ModelErrorCode,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "ModelError";
    this.http = MODEL_ERRORS[code];
  }
}

/** The message every plugin answers with for a model that is not in the store (the shared contract). */
export function notPulledMessage(name: string): string {
  return `model "${name}" is not pulled: run \`bkg models pull ${name}\``;
}

/** Turns a filesystem error into the store's error: ENOSPC and EDQUOT become NoSpace naming the folder. */
export function fsError(e: unknown, where: string): ModelError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT") return new ModelError("NoSpace", `no space left on the device holding ${where}: free some space or set models.dir to another disk`);
  if (e instanceof ModelError) return e;
  return new ModelError("FetchFailed", `${where}: ${(e as Error).message}`);
}
