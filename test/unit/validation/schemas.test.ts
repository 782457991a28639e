import t from "tap";
import { readFileSync } from "node:fs";
import { BKG_SCHEMAS, createAjv, SCHEMAS_DIR, validatorFor } from "../../../src/validation/schemas.js";

// bkgAjv() does not check bkg's own schemas against the meta-schema at run time (it would cost
// every CLI command the meta-schema's compilation), so this test does.
t.test("bkg's own schemas are valid JSON Schema and compile", async (t) => {
  const ajv = createAjv();
  for (const file of BKG_SCHEMAS) {
    const schema = JSON.parse(readFileSync(new URL(file, SCHEMAS_DIR), "utf8"));
    t.equal(ajv.validateSchema(schema), true, `${file}: ${ajv.errorsText()}`);
    t.type(validatorFor(file), "function", `${file} compiles`);
  }
});

t.test("prepareSchemaChecks compiles the meta-schema ahead; checks are unchanged after it", async (t) => {
  const { prepareSchemaChecks, createSchemaSet } = await import("../../../src/validation/schemas.js");
  prepareSchemaChecks();
  prepareSchemaChecks();
  const set = createSchemaSet();
  t.throws(() => set.compile({ minimum: "x" }), { message: "schema is invalid: data/minimum must be number" });
  t.equal(set.compile({ type: "string" })("x"), true);
});
