/**
 * The precompiled validators of bkg's own schemas: the committed file is current, and it judges
 * every document exactly as ajv compiling the schema at run time does (same errors, same order).
 */
import { readFileSync } from "node:fs";
import t from "tap";
import { COMPILED_FILE, compiledValidator, generateValidatorsSource } from "../../../src/validation/compiled-validators.js";
import { bkgAjv, toProblems, validatorFor } from "../../../src/validation/schemas.js";

t.test("schemas/compiled/validators.cjs is current (else: npm run schemas:compile)", async (t) => {
  t.equal(readFileSync(COMPILED_FILE, "utf8"), generateValidatorsSource(), "the committed file is what the schemas generate now");
});

const manifest = { name: "echo", version: "1.0.0", command: ["node", "dist/index.js"] };
const samples = {
  "plugin-manifest.schema.json": [
    manifest,
    { ...manifest, protocol: "^1.0.0", requires: { apikeys: ">=1.0.0" }, instances: 2, restart: { policy: "always" } },
    {},
    { ...manifest, name: "Bad Name", version: "one", command: [], extra: true },
    { ...manifest, protocol: "not a range", requires: { x: "1.0.0.0.0" } },
    { ...manifest, instances: -1, timeouts: { call: "soon" }, restart: { policy: "sometimes" } },
  ],
  "bkg-config.schema.json": [
    {},
    { manifestsDir: "manifests", http: { port: 43119, cors: { origins: ["https://ops.example.com"] } }, grpc: { enabled: true, tls: { certFile: "a", keyFile: "b" } } },
    { http: { port: 70000, publicRoutes: ["GET /nope"] }, logLevel: "loud", unknown: 1 },
    { storage: { url: 5 }, logs: { maxBytes: 10 }, grpc: { tls: { certFile: "" } } },
  ],
} as const;

t.test("precompiled and run-time validators agree on every sample", async (t) => {
  for (const [file, docs] of Object.entries(samples) as [keyof typeof samples, readonly unknown[]][]) {
    const compiled = compiledValidator(file);
    t.ok(compiled, `${file}: the precompiled validator is used`);
    t.equal(validatorFor(file), compiled, "validatorFor returns it");
    const runtime = bkgAjv().getSchema(file)!;
    for (const doc of docs) {
      const a = compiled!(doc);
      const b = runtime(doc);
      t.equal(a, b, `${file} ${JSON.stringify(doc).slice(0, 60)}: same verdict`);
      t.same(toProblems(compiled!.errors), toProblems(runtime.errors), "same problems, same order");
    }
  }
  const v = compiledValidator("plugin-manifest.schema.json")!;
  v({ ...manifest, protocol: "not a range" });
  t.match(toProblems(v.errors), [{ path: "/protocol", message: /semver-range/ }], "custom formats are checked");
});
