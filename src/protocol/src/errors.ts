import { ErrorCodes } from "./error-codes.js";

/** A JSON-RPC error object as it travels on the wire. */
export interface WireError {
  code: number;
  message: string;
  data?: unknown;
}

/**
 * An error as a value: a wire code, a message a person can act on, and optional data.
 * Thrown inside the daemon and the SDKs; serialised as the JSON-RPC `error` member.
 */
export class BkgError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = "BkgError";
    this.code = code;
    this.data = data;
  }
  toWire(): WireError {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }
  /** Rebuilds a BkgError from anything thrown or received (a wire error, an Error, a string). */
  static from(err: unknown): BkgError {
    if (err instanceof BkgError) return err;
    if (err && typeof err === "object" && typeof (err as WireError).code === "number" && typeof (err as WireError).message === "string") {
      const w = err as WireError;
      return new BkgError(w.code, w.message, w.data);
    }
    if (err instanceof Error) return new BkgError(ErrorCodes.InternalError, err.message);
    return new BkgError(ErrorCodes.InternalError, String(err));
  }
}
