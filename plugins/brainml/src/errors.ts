/**
 * BrainML's errors: bad input answers InvalidParams (-32602), a failure of something BrainML
 * depends on (the embed method, the database) answers PluginError (-33010). Each carries a
 * stable `data.reason` a program can branch on, and a message a person can act on.
 */
import { BkgError, ErrorCodes } from "@bkg/plugin-sdk";

export type Reason =
  | "collection_not_found"
  | "collection_exists"
  | "bad_name"
  | "dimension_mismatch"
  | "unknown_filter_field"
  | "unknown_filter_op"
  | "bad_filter_value"
  | "query_missing"
  | "embedding_failed"
  | "not_text"
  | "file_too_large"
  | "unreadable_file"
  | "unparsable_pdf"
  | "bad_path"
  | "snapshot_not_found"
  | "snapshot_too_new"
  | "snapshot_corrupt"
  | "document_not_found"
  | "backend_failed";

const BAD_INPUT: ReadonlySet<Reason> = new Set<Reason>([
  "collection_not_found",
  "collection_exists",
  "bad_name",
  "dimension_mismatch",
  "unknown_filter_field",
  "unknown_filter_op",
  "bad_filter_value",
  "query_missing",
  "not_text",
  "file_too_large",
  "unreadable_file",
  "unparsable_pdf",
  "bad_path",
  "snapshot_not_found",
  "snapshot_too_new",
  "snapshot_corrupt",
  "document_not_found",
]);

export function brainError(reason: Reason, message: string, extra: Record<string, unknown> = {}): BkgError {
  return new BkgError(BAD_INPUT.has(reason) ? ErrorCodes.InvalidParams : ErrorCodes.PluginError, message, { reason, ...extra });
}

/** The reason of a BrainML error, if it is one. */
export function reasonOf(e: unknown): Reason | undefined {
  const data = (e as { data?: { reason?: Reason } } | undefined)?.data;
  return data?.reason;
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
