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

/** One validator per method with a paramsSchema, in the order announced. */
type Validators = ValidateFunction[];

/**
 * Validators by the generation's methods and schemas (as JSON). A set of schemas compiles to the
 * same validators wherever it comes from, so a plugin's next version with unchanged schemas, or
 * several plugins built from one code base, compile once. Held weakly: the validators live as long
 * as a generation uses them. A validator is only called synchronously (its `errors` are read right
 * after), so generations can share one.
 */
const compiled = new Map<string, WeakRef<Validators>>();
const forget = new FinalizationRegistry<string>((key) => {
  if (!compiled.get(key)?.deref()) compiled.delete(key);
});

/** Throws a BkgError naming the method when a paramsSchema does not compile. */
export function compileMethods(plugin: string, methods: MethodDescriptor[]): MethodTable {
  const described = methods.filter((d) => d && typeof d.name === "string");
  const withSchema = described.filter((d) => d.paramsSchema && typeof d.paramsSchema === "object");
  const key = withSchema.length ? JSON.stringify(withSchema.map((d) => [d.name, d.paramsSchema])) : "";
  let validators = key ? compiled.get(key)?.deref() : undefined;
  if (key && !validators) {
    validators = compileSchemas(plugin, withSchema);
    compiled.set(key, new WeakRef(validators));
    forget.register(validators, key);
  }
  const table: MethodTable = new Map();
  for (const d of described) table.set(d.name, { descriptor: d, validate: validators?.[withSchema.indexOf(d)] });
  return table;
}

function compileSchemas(plugin: string, methods: MethodDescriptor[]): Validators {
  // An ajv per set: schemas with the same $id in two versions, or two plugins, must not collide,
  // and one plugin must not resolve another's $ids. It shares the meta-schema check.
  const ajv = createSchemaSet();
  const validators: Validators = [];
  for (const d of methods) {
    try {
      validators.push(ajv.compile(d.paramsSchema!));
    } catch (e) {
      throw new BkgError(ErrorCodes.InvalidRequest, `${plugin}.${d.name} has an invalid paramsSchema: ${(e as Error).message}`, { permanent: true });
    }
  }
  return validators;
}
