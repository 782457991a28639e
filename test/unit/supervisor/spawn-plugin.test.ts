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

t.test("bug: scrubbing by name let DATABASE_URL, GH_PAT, *_PASS, SESSION_KEY, NPM_AUTH through; the environment is allow-listed", async (t) => {
  const daemonEnv = {
    PATH: "/usr/bin",
    LANG: "C.UTF-8",
    LC_ALL: "C",
    TZ: "UTC",
    DATABASE_URL: "postgres://u:secret@h/db",
    GH_PAT: "ghp_x",
    FOO_PASS: "x",
    SESSION_KEY: "x",
    NPM_AUTH: "x",
    CARGO_HOME: "/c",
    CARGO_TARGET_DIR: "/t",
    RUSTUP_HOME: "/r",
    STRIPE_KEY: "sk",
    BKG_ROOT_TOKEN: "x",
  };
  const env = pluginEnv(manifest({ passEnv: ["CARGO_*"], env: { STRIPE: { $env: "STRIPE_KEY" } } }), "p#1", "/data/p", daemonEnv, "abc.def");
  t.same(env, {
    PATH: "/usr/bin",
    LANG: "C.UTF-8",
    LC_ALL: "C",
    TZ: "UTC",
    CARGO_HOME: "/c",
    CARGO_TARGET_DIR: "/t",
    STRIPE: "sk",
    BKG_PLUGIN_NAME: "p",
    BKG_INSTANCE_ID: "p#1",
    BKG_DATA_DIR: "/data/p",
    BKG_PROTOCOL_VERSION: "1.0.0",
    BKG_DAEMON_RUN: "abc.def",
  });
});

t.test("a $env reference to a missing variable is a permanent start error naming manifest, field and variable", async (t) => {
  t.throws(() => pluginEnv(manifest({ env: { K: { $env: "NOPE" } } }), "p#1", "/d", {}), {
    message: 'manifest /srv/manifests/p.json: /env/K refers to {"$env": "NOPE"}, but NOPE is not set in the daemon\'s environment (set it where the daemon starts, or change the manifest)',
    data: { permanent: true, variable: "NOPE", pointer: "/env/K" },
  });
});

t.test("passEnv may not name the daemon's BKG_* variables; memoryHardMb must not be below memoryMb", async (t) => {
  const parse = (extra: Record<string, unknown>) => parseManifest("/srv/manifests/p.json", JSON.stringify({ name: "p", version: "1.0.0", command: ["x"], ...extra }), config);
  t.notOk(parse({ passEnv: ["BKG_ROOT_TOKEN"] }).ok);
  t.notOk(parse({ limits: { memoryMb: 100, memoryHardMb: 50 } }).ok);
  t.notOk(parse({ limits: { memoryHardMb: 50 } }).ok);
  t.match(parse({ limits: { memoryMb: 100 } }), { ok: true, manifest: { limits: { memoryMb: 100, memoryHardMb: 125 } } });
});
