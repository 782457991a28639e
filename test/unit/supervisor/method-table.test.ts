import t from "tap";
import type { MethodDescriptor } from "@bkg/protocol";
import { compileMethods } from "../../../src/supervisor/method-table.js";
import { toProblems } from "../../../src/validation/schemas.js";

const compile = (plugin: string, methods: Record<string, unknown>) =>
  compileMethods(
    plugin,
    Object.entries(methods).map(([name, paramsSchema]) => ({ name, paramsSchema }) as MethodDescriptor),
  );
const validator = (plugin: string, schema: unknown) => compile(plugin, { m: schema }).get("m")!.validate!;
const failure = (plugin: string, methods: Record<string, unknown>) => {
  try {
    compile(plugin, methods);
  } catch (e) {
    const err = e as { code: number; message: string; data: unknown };
    return { code: err.code, message: err.message, data: err.data };
  }
  return undefined;
};

t.test("two plugins whose schemas use the same $id each validate with their own schema", async (t) => {
  const a = validator("pa", { $id: "https://example.com/shape", type: "object", required: ["a"], properties: { a: { type: "string" } } });
  const b = validator("pb", { $id: "https://example.com/shape", type: "object", required: ["b"], properties: { b: { type: "integer" } } });
  // And a third generation of the first plugin (a hot swap) with the same $id again.
  const a2 = validator("pa", { $id: "https://example.com/shape", type: "object", required: ["c"] });
  t.equal(a({ a: "x" }), true);
  t.equal(a({ b: 1 }), false);
  t.same(a.errors, [{ instancePath: "", schemaPath: "#/required", keyword: "required", params: { missingProperty: "a" }, message: "must have required property 'a'" }]);
  t.equal(b({ b: 1 }), true);
  t.equal(b({ a: "x" }), false);
  t.same(b.errors, [{ instancePath: "", schemaPath: "#/required", keyword: "required", params: { missingProperty: "b" }, message: "must have required property 'b'" }]);
  t.equal(a2({ c: 1 }), true);
  t.equal(a2({ a: "x" }), false);
  t.equal(a({ a: "x" }), true, "the first generation still validates with its own schema");
});

t.test("nested $ids of two plugins do not collide", async (t) => {
  const a = validator("na", { type: "object", properties: { p: { $id: "https://example.com/inner", type: "string" } } });
  const b = validator("nb", { type: "object", properties: { p: { $id: "https://example.com/inner", type: "number" } } });
  t.equal(a({ p: "s" }), true);
  t.equal(a({ p: 1 }), false);
  t.equal(b({ p: 1 }), true);
  t.equal(b({ p: "s" }), false);
});

t.test("within one plugin: methods may $ref each other's $id, and may not share one", async (t) => {
  const table = compile("cross", {
    m1: { $id: "https://example.com/defs", definitions: { s: { type: "string" } } },
    m2: { $ref: "https://example.com/defs#/definitions/s" },
  });
  t.equal(table.get("m2")!.validate!("x"), true);
  t.equal(table.get("m2")!.validate!(1), false);
  t.same(failure("dup", { m1: { $id: "https://example.com/same" }, m2: { $id: "https://example.com/same", type: "object" } }), {
    code: -32600,
    message: 'dup.m2 has an invalid paramsSchema: schema with key or id "https://example.com/same" already exists',
    data: { permanent: true },
  });
});

t.test("another plugin's $id is not visible", async (t) => {
  compile("owner", { m: { $id: "https://example.com/owned", definitions: { s: { type: "string" } } } });
  t.same(failure("other", { m: { $ref: "https://example.com/owned#/definitions/s" } }), {
    code: -32600,
    message: "other.m has an invalid paramsSchema: can't resolve reference https://example.com/owned#/definitions/s from id #",
    data: { permanent: true },
  });
  t.match(failure("cfg", { m: { $ref: "plugin-manifest.schema.json" } }), { message: /can't resolve reference plugin-manifest.schema.json/ }, "nor are bkg's own schemas");
});

t.test("invalid schemas fail with ajv's messages", async (t) => {
  const cases: [Record<string, unknown>, string][] = [
    [
      { type: "object", properties: { x: { type: "strin" } } },
      "schema is invalid: data/properties/x/type must be equal to one of the allowed values, data/properties/x/type must be array, data/properties/x/type must match a schema in anyOf",
    ],
    [{ minimum: "x" }, "schema is invalid: data/minimum must be number"],
    [{ $schema: "http://example.com/unknown", type: "object" }, 'no schema with key or ref "http://example.com/unknown"'],
    [{ $schema: "plugin-manifest.schema.json", type: "object" }, 'no schema with key or ref "plugin-manifest.schema.json"'],
    [{ type: "object", properties: { x: { $ref: "#/definitions/nope" } } }, "can't resolve reference #/definitions/nope from id #"],
  ];
  for (const [schema, message] of cases) {
    t.same(failure("bad", { m: schema }), { code: -32600, message: `bad.m has an invalid paramsSchema: ${message}`, data: { permanent: true } }, message);
  }
  t.ok(compile("meta", { m: { $schema: "http://json-schema.org/draft-07/schema#", type: "object" } }).get("m")!.validate, "the draft-07 $schema is known");
});

t.test("params errors: formats (bkg's semver too), every error, toProblems", async (t) => {
  const v = validator("fmt", {
    type: "object",
    required: ["n"],
    properties: { e: { type: "string", format: "email" }, v: { type: "string", format: "semver" }, n: { type: "integer", minimum: 0 } },
    additionalProperties: false,
  });
  t.equal(v({ e: "a@b.c", v: "1.2.3", n: 1 }), true);
  t.equal(v({ e: "nope", v: "x", n: -1, z: 1 }), false);
  t.same(v.errors, [
    { instancePath: "", schemaPath: "#/additionalProperties", keyword: "additionalProperties", params: { additionalProperty: "z" }, message: "must NOT have additional properties" },
    { instancePath: "/e", schemaPath: "#/properties/e/format", keyword: "format", params: { format: "email" }, message: 'must match format "email"' },
    { instancePath: "/v", schemaPath: "#/properties/v/format", keyword: "format", params: { format: "semver" }, message: 'must match format "semver"' },
    { instancePath: "/n", schemaPath: "#/properties/n/minimum", keyword: "minimum", params: { comparison: ">=", limit: 0 }, message: "must be >= 0" },
  ]);
  t.same(toProblems(v.errors), [
    { path: "", message: 'unknown property "z"' },
    { path: "/e", message: "must be a valid email" },
    { path: "/v", message: "must be a valid semver" },
    { path: "/n", message: "must be >= 0" },
  ]);
});

t.test("methods without a schema, and malformed descriptors", async (t) => {
  const table = compileMethods("p", [{ name: "a" }, { name: "b", paramsSchema: true } as unknown as MethodDescriptor, null as unknown as MethodDescriptor]);
  t.same([...table.keys()], ["a", "b"]);
  t.equal(table.get("a")!.validate, undefined);
  t.equal(table.get("b")!.validate, undefined);
});

t.test("an unchanged set of schemas is compiled once; any change compiles anew", async (t) => {
  const schemas = () => ({ a: { type: "object", required: ["x"] }, b: { $id: "https://example.com/b", type: "string" }, c: undefined });
  const first = compile("same1", schemas());
  const again = compile("same2", schemas());
  t.equal(again.get("a")!.validate, first.get("a")!.validate, "the same validator");
  t.equal(again.get("b")!.validate, first.get("b")!.validate);
  t.equal(again.get("c")!.validate, undefined);
  const changed = compile("same3", { ...schemas(), b: { $id: "https://example.com/b", type: "number" } });
  t.not(changed.get("b")!.validate, first.get("b")!.validate);
  t.equal(changed.get("b")!.validate!(1), true);
  t.equal(first.get("b")!.validate!(1), false);
  const renamed = compile("same4", { a2: schemas().a, b: schemas().b });
  t.not(renamed.get("a2")!.validate, first.get("a")!.validate, "method names are part of the set");
  t.equal(renamed.get("a2")!.validate!({}), false);
  t.same(renamed.get("a2")!.validate!.errors, [{ instancePath: "", schemaPath: "#/required", keyword: "required", params: { missingProperty: "x" }, message: "must have required property 'x'" }]);
  const bad = { m: { type: "object", properties: { x: { type: "strin" } } } };
  t.match(failure("bad1", bad), { message: /^bad1\.m has an invalid paramsSchema: schema is invalid/ });
  t.match(failure("bad2", bad), { message: /^bad2\.m has an invalid paramsSchema: schema is invalid/ }, "a set that failed fails again, naming its plugin");
});

t.test("a method announced twice keeps the last announcement, schema or none", async (t) => {
  const table = compileMethods("twice", [{ name: "a", paramsSchema: { type: "string" } }, { name: "a" }, { name: "b" }, { name: "b", paramsSchema: { type: "number" } }] as MethodDescriptor[]);
  t.equal(table.get("a")!.validate, undefined);
  t.equal(table.get("b")!.validate!(1), true);
  t.equal(table.get("b")!.validate!("x"), false);
});

t.test("the params-schema cache: a set compiled once is loaded on the next start without ajv, with the same errors", async (t) => {
  const { mkdtempSync, readdirSync, rmSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { spawnSync } = await import("node:child_process");
  const { ParamsSchemaCache } = await import("../../../src/validation/params-schema-cache.js");
  const dir = mkdtempSync(join(tmpdir(), "bkg-psc-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const methods = [
    {
      name: "greet",
      paramsSchema: { type: "object", required: ["name"], properties: { name: { type: "string", minLength: 2 }, v: { type: "string", format: "semver" } }, additionalProperties: false },
    },
    { name: "pick", paramsSchema: { $id: "https://example.com/pick", type: "object", properties: { n: { enum: [1, 2, 3] }, u: { type: "string", format: "uri" } } } },
    { name: "plain" },
  ];
  const bad = { name: "x", v: "1.x", extra: true };
  const run = (label: string) => {
    const script = `
      const { createRequire } = await import("node:module");
      const { compileMethods } = await import(${JSON.stringify(new URL("../../../src/supervisor/method-table.ts", import.meta.url).href)});
      const { ParamsSchemaCache } = await import(${JSON.stringify(new URL("../../../src/validation/params-schema-cache.ts", import.meta.url).href)});
      const table = compileMethods("p", ${JSON.stringify(methods)}, new ParamsSchemaCache(${JSON.stringify(dir)}));
      const greet = table.get("greet").validate, pick = table.get("pick").validate;
      const out = { greet: [greet(${JSON.stringify(bad)}), greet.errors], pick: [pick({ n: 4, u: "x y" }), pick.errors], ok: greet({ name: "ada" }) };
      const ajvLoaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes("/ajv/dist/core.js"));
      process.stdout.write(JSON.stringify({ out, ajvLoaded }));`;
    const r = spawnSync(process.execPath, [...process.execArgv, "--input-type=module", "-e", script], { encoding: "utf8" });
    t.equal(r.status, 0, `${label}: ${r.stderr.slice(0, 500)}`);
    return JSON.parse(r.stdout) as { out: unknown; ajvLoaded: boolean };
  };
  const first = run("first start");
  t.equal(first.ajvLoaded, true, "the first start compiles with ajv");
  t.equal(readdirSync(dir).filter((f) => f.endsWith(".cjs")).length, 1, "and stores the set");
  const second = run("second start");
  t.equal(second.ajvLoaded, false, "the next start loads it without ajv");
  t.same(second.out, first.out, "same verdicts, same errors");
  t.match(first.out, { greet: [false, [{ keyword: "additionalProperties" }, { keyword: "minLength" }, { keyword: "format", params: { format: "semver" } }]], ok: true });

  const cache = new ParamsSchemaCache(dir);
  const setJson = JSON.stringify(methods.filter((m) => m.paramsSchema).map((m) => [m.name, m.paramsSchema]));
  writeFileSync(cache.fileOf(setJson), "this is not javascript {");
  t.equal(cache.load(setJson, 2), undefined, "a corrupt file is a miss");
  t.equal(run("after corruption").ajvLoaded, true, "which compiles again");
  t.equal(run("and then").ajvLoaded, false, "and repairs the file");

  const invalid = new ParamsSchemaCache(join(dir, "invalid"));
  t.throws(() => compileMethods("p", [{ name: "m", paramsSchema: { minimum: "x" } } as MethodDescriptor], invalid), { message: /p\.m has an invalid paramsSchema/ });
  t.equal(invalid.isEmpty(), true, "an invalid set is never stored");
});

t.test("the params-schema cache keeps at most MAX_CACHED_SETS sets, dropping the oldest", async (t) => {
  const { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { MAX_CACHED_SETS, ParamsSchemaCache } = await import("../../../src/validation/params-schema-cache.js");
  const dir = mkdtempSync(join(tmpdir(), "bkg-psc-prune-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cache = new ParamsSchemaCache(dir);
  // Fill the folder with old sets, the oldest first.
  const old = Date.now() / 1000 - 10_000;
  for (let i = 0; i < MAX_CACHED_SETS; i++) {
    const f = cache.fileOf(`old-${i}`);
    writeFileSync(f, "exports.v0 = () => true;");
    utimesSync(f, old + i, old + i);
  }
  compileMethods("fresh", [{ name: "m", paramsSchema: { type: "object", required: ["fresh"] } } as MethodDescriptor], cache);
  const left = readdirSync(dir).filter((f) => f.endsWith(".cjs"));
  t.equal(left.length, MAX_CACHED_SETS, "still at the bound");
  t.notOk(left.includes(cache.fileOf("old-0").split("/").pop()!), "the oldest set went");
  t.ok(left.includes(cache.fileOf("old-1").split("/").pop()!), "the next oldest stayed");
  const fresh = JSON.stringify([["m", { type: "object", required: ["fresh"] }]]);
  t.ok(left.includes(cache.fileOf(fresh).split("/").pop()!), "the new set is kept");
});
