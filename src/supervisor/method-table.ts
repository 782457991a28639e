/**
 * The methods a plugin announced at initialize, with their params validators compiled once per
 * generation, so validation on the call path is a function call.
 */
import { createRequire } from "node:module";
import type { Ajv, ValidateFunction } from "ajv";
import { BkgError, ErrorCodes, type MethodDescriptor } from "@bkg/protocol";
import type { ParamsSchemaCache } from "../validation/params-schema-cache.js";
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

/**
 * Throws a BkgError naming the method when a paramsSchema does not compile. With a cache, a set
 * compiled on an earlier start is loaded from it (no ajv), and a new set is stored there.
 */
export function compileMethods(plugin: string, methods: MethodDescriptor[], cache?: ParamsSchemaCache): MethodTable {
  const described = methods.filter((d) => d && typeof d.name === "string");
  const withSchema = described.filter((d) => d.paramsSchema && typeof d.paramsSchema === "object");
  const key = withSchema.length ? JSON.stringify(withSchema.map((d) => [d.name, d.paramsSchema])) : "";
  let validators = key ? compiled.get(key)?.deref() : undefined;
  if (key && !validators) {
    validators = cache?.load(key, withSchema.length) ?? compileSchemas(plugin, withSchema, key, cache);
    compiled.set(key, new WeakRef(validators));
    forget.register(validators, key);
  }
  const table: MethodTable = new Map();
  for (const d of described) table.set(d.name, { descriptor: d, validate: validators?.[withSchema.indexOf(d)] });
  return table;
}

function compileSchemas(plugin: string, methods: MethodDescriptor[], key: string, cache?: ParamsSchemaCache): Validators {
  // An ajv per set: schemas with the same $id in two versions, or two plugins, must not collide,
  // and one plugin must not resolve another's $ids. It shares the meta-schema check.
  const ajv = createSchemaSet({ standalone: Boolean(cache) });
  const validators: Validators = [];
  for (const d of methods) {
    try {
      validators.push(ajv.compile(d.paramsSchema!));
    } catch (e) {
      throw new BkgError(ErrorCodes.InvalidRequest, `${plugin}.${d.name} has an invalid paramsSchema: ${(e as Error).message}`, { permanent: true });
    }
  }
  if (cache) cache.store(key, standaloneSource(ajv, validators));
  return validators;
}

/** The set as CommonJS exporting v0, v1, ... in order: ajv's standalone code for the compiled validators. */
function standaloneSource(ajv: Ajv, validators: Validators): string {
  const standalone = (createRequire(import.meta.url)("ajv/dist/standalone") as { default: (ajv: Ajv, refsOrFunc?: unknown) => string }).default;
  const parts = validators.map((v, i) => standalone(ajv, v).replace(/^"use strict";module\.exports = (\w+);module\.exports\.default = \1;/, `exports.v${i} = $1;`));
  return `"use strict";\n${parts.map((p, _i) => `{\n${p}\n}`).join("\n")}`;
}
