import t from "tap";
import { loadConfig } from "../../../src/config/index.js";
import { parseManifest } from "../../../src/registry/index.js";
import { pluginArgv, pluginEnv } from "../../../src/supervisor/index.js";

const config = loadConfig({ cwd: "/srv", env: {} });
const manifest = (extra: Record<string, unknown> = {}) => {
  const r = parseManifest("/srv/manifests/p.json", JSON.stringify({ name: "p", version: "1.0.0", command: ["node", "x.js"], ...extra }), config);
  if (!r.ok) throw new Error("bad manifest");
  return r.manifest;
};

t.test("the environment: the daemon's secrets and BKG_* stay behind; the plugin's own variables arrive", async (t) => {
  const env = pluginEnv(manifest({ env: { MODE: "fast" } }), "p#1", "/data/p", {
    PATH: "/usr/bin",
    HOME: "/home/op",
    BKG_ROOT_TOKEN: "secret-1",
    BKG_CONFIG: "/etc/bkg.json",
    AWS_SECRET_ACCESS_KEY: "secret-2",
    GITHUB_TOKEN: "secret-3",
    DB_PASSWORD: "secret-4",
    OPENAI_API_KEY: "secret-5",
    MY_CREDENTIALS: "secret-6",
  });
  t.same(env, {
    PATH: "/usr/bin",
    HOME: "/home/op",
    MODE: "fast",
    BKG_PLUGIN_NAME: "p",
    BKG_INSTANCE_ID: "p#1",
    BKG_DATA_DIR: "/data/p",
    BKG_PROTOCOL_VERSION: "1.0.0",
  });
});

t.test("argv: node means this Node, with a heap cap from limits.memoryMb", async (t) => {
  t.same(pluginArgv(manifest()), [process.execPath, ["x.js"]]);
  t.same(pluginArgv(manifest({ limits: { memoryMb: 256 } })), [process.execPath, ["--max-old-space-size=256", "x.js"]]);
  t.same(pluginArgv(manifest({ command: ["python3", "-u", "main.py"], limits: { memoryMb: 256 } })), ["python3", ["-u", "main.py"]]);
});
