/**
 * The methods a plugin announced at initialize, with their params validators compiled once per
 * generation, so validation on the call path is a function call.
 */
import type { ValidateFunction } from "ajv";
import { BkgError, ErrorCodes, type MethodDescriptor } from "@bkg/protocol";
import { createSchemaSet } from "../validation/schemas.js";

export interface MethodEntry {
  descriptor: MethodDescriptor;
  validate?: ValidateFunction;
}

export type MethodTable = Map<string, MethodEntry>;

/** Throws a BkgError naming the method when a paramsSchema does not compile. */
export function compileMethods(plugin: string, methods: MethodDescriptor[]): MethodTable {
  const table: MethodTable = new Map();
  // An ajv per generation: schemas with the same $id in two versions, or two plugins, must not
  // collide, and one plugin must not resolve another's $ids. It shares the meta-schema check.
  let ajv: ReturnType<typeof createSchemaSet> | undefined;
  for (const d of methods) {
    if (!d || typeof d.name !== "string") continue;
    let validate: ValidateFunction | undefined;
    if (d.paramsSchema && typeof d.paramsSchema === "object") {
      try {
        validate = (ajv ??= createSchemaSet()).compile(d.paramsSchema);
      } catch (e) {
        throw new BkgError(ErrorCodes.InvalidRequest, `${plugin}.${d.name} has an invalid paramsSchema: ${(e as Error).message}`, { permanent: true });
      }
    }
    table.set(d.name, { descriptor: d, validate });
  }
  return table;
}
