/**
 * One ajv instance for bkg's own schemas (config, manifest) with the formats they use, and a
 * helper that turns ajv's errors into lines a person can act on.
 */
import { createRequire } from "node:module";
import type { Ajv, ErrorObject, ValidateFunction } from "ajv";
import { SCHEMA_FILES, SCHEMAS_DIR, bkgFormats, compiledValidator, schemaText } from "./compiled-validators.js";

// ajv, its formats and semver are loaded on first use: CLI commands that never validate start faster.
const require = createRequire(import.meta.url);

export { SCHEMAS_DIR };

/** bkg's own schemas, in schemas/. */
export const BKG_SCHEMAS = SCHEMA_FILES;

export interface Problem {
  /** JSON pointer into the validated document ("" for the root). */
  path: string;
  message: string;
}

/**
 * A new ajv with bkg's formats. `validateSchema: false` skips checking schemas against the JSON
 * Schema meta-schema (for bkg's own schemas, which the tests check).
 */
export function createAjv(options: { validateSchema?: boolean; standalone?: boolean } = {}): Ajv {
  const { Ajv: AjvClass, _ } = require("ajv") as typeof import("ajv");
  // Standalone code refers to the formats as a module; params-schema-cache.ts resolves the name.
  const code = options.standalone ? { code: { source: true, formats: _`require(${FORMATS_MODULE})` } } : {};
  const ajv = new AjvClass({ allErrors: true, strict: false, useDefaults: false, validateSchema: options.validateSchema ?? true, ...code });
  // ajv-formats (its full set and its formatMinimum/formatMaximum keywords), then semver and
  // semver-range: the definitions the precompiled validators use too.
  (require("ajv-formats") as (ajv: Ajv) => Ajv)(ajv);
  const formats = bkgFormats();
  for (const name of ["semver", "semver-range"]) ajv.addFormat(name, formats[name] as never);
  return ajv;
}

/** The name standalone validators use for bkg's formats module (see params-schema-cache.ts). */
export const FORMATS_MODULE = "bkg:formats";

let metaChecker: Ajv | undefined;
function schemaChecker(): Ajv {
  return (metaChecker ??= createAjv());
}

/**
 * Compiles the meta-schema now rather than when the first paramsSchema arrives: the daemon calls
 * this while its plugins start, so their handshakes do not wait for it.
 */
export function prepareSchemaChecks(): void {
  const checker = schemaChecker();
  const meta = checker.defaultMeta();
  if (typeof meta === "string") checker.getSchema(meta);
}
/**
 * An ajv for one set of schemas that may refer to each other (a plugin generation's
 * paramsSchemas): its own registry of $ids, so two sets never see or collide with each other's.
 * Checking a schema against the meta-schema is delegated to one ajv per process, holding nothing
 * else, so the meta-schema is compiled once rather than once per set (it is most of the cost of
 * a fresh ajv); the checks, their order and their errors are ajv's own.
 */
export function createSchemaSet(options: { standalone?: boolean } = {}): Ajv {
  const checker = schemaChecker();
  const ajv = createAjv(options);
  ajv.validateSchema = (schema, throwOrLogError) => checker.validateSchema(schema, throwOrLogError);
  return ajv;
}

let shared: Ajv | undefined;
/** bkg's schemas loaded once per process (idempotent). */
export function bkgAjv(): Ajv {
  if (shared) return shared;
  // Not checked against the meta-schema here: a CLI command would pay for compiling it.
  shared = createAjv({ validateSchema: false });
  for (const file of BKG_SCHEMAS) {
    shared.addSchema(JSON.parse(schemaText(file)), file);
  }
  return shared;
}

/** The validator of one of bkg's schemas: precompiled (no ajv loaded) unless the schema changed since. */
export function validatorFor(file: (typeof BKG_SCHEMAS)[number]): ValidateFunction {
  const compiled = compiledValidator(file);
  if (compiled) return compiled;
  const v = bkgAjv().getSchema(file);
  if (!v) throw new Error(`schema ${file} is not loaded`);
  return v;
}

/** ajv errors as {path, message}, one per problem, with the offending name or value spelled out. */
export function toProblems(errors: ErrorObject[] | null | undefined): Problem[] {
  return (errors ?? []).map((e) => {
    const p = e.params as Record<string, unknown>;
    let message = e.message ?? "is invalid";
    if (e.keyword === "additionalProperties") message = `unknown property "${p.additionalProperty}"`;
    else if (e.keyword === "required") message = `missing required property "${p.missingProperty}"`;
    else if (e.keyword === "enum") message = `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    else if (e.keyword === "format") message = `must be a valid ${p.format}`;
    return { path: e.instancePath, message };
  });
}
