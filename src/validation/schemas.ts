/**
 * One ajv instance for bkg's own schemas (config, manifest) with the formats they use, and a
 * helper that turns ajv's errors into lines a person can act on.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Ajv, ErrorObject, ValidateFunction } from "ajv";

// ajv, its formats and semver are loaded on first use: CLI commands that never validate start faster.
const require = createRequire(import.meta.url);

/** The schemas/ folder at the top of the project (same relative place from src/ and dist/). */
export const SCHEMAS_DIR = new URL("../../schemas/", import.meta.url);

export interface Problem {
  /** JSON pointer into the validated document ("" for the root). */
  path: string;
  message: string;
}

export function createAjv(): Ajv {
  const { Ajv: AjvClass } = require("ajv") as typeof import("ajv");
  const addFormats = require("ajv-formats") as (ajv: Ajv) => Ajv;
  const semver = require("semver") as typeof import("semver");
  const ajv = new AjvClass({ allErrors: true, strict: false, useDefaults: false });
  addFormats(ajv);
  ajv.addFormat("semver", { type: "string", validate: (v: string) => semver.valid(v) !== null });
  ajv.addFormat("semver-range", { type: "string", validate: (v: string) => semver.validRange(v) !== null });
  return ajv;
}

let shared: Ajv | undefined;
/** bkg's schemas loaded once per process (idempotent). */
export function bkgAjv(): Ajv {
  if (shared) return shared;
  shared = createAjv();
  for (const file of ["plugin-manifest.schema.json", "bkg-config.schema.json"]) {
    shared.addSchema(JSON.parse(readFileSync(new URL(file, SCHEMAS_DIR), "utf8")), file);
  }
  return shared;
}

export function validatorFor(file: "plugin-manifest.schema.json" | "bkg-config.schema.json"): ValidateFunction {
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
