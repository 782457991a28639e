import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { ConfigError, DEFAULTS, findConfigFile, loadConfig } from "../../../src/config/index.js";

const dir = mkdtempSync(join(tmpdir(), "bkg-conf-"));
const write = (obj: unknown) => {
  const f = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, typeof obj === "string" ? obj : JSON.stringify(obj));
  return f;
};

t.test("defaults with no file at all; paths are absolute", async (t) => {
  const c = loadConfig({ cwd: dir, env: {} });
  t.equal(c.file, undefined);
  t.equal(c.manifestsDir, join(dir, "manifests"));
  t.equal(c.socketPath, join(dir, ".bkg", "bkg.sock"));
  t.same(c.defaults.timeouts, DEFAULTS.defaults.timeouts);
  t.equal(c.http.port, 43119);
});

t.test("the file's values merge over defaults; relative paths are relative to the file", async (t) => {
  const f = write({ dataDir: "state", defaults: { timeouts: { call: 5 }, restart: { backoff: { maxMs: 7 } } } });
  const c = loadConfig({ file: f, env: {} });
  t.equal(c.dataDir, join(dir, "state"));
  t.equal(c.defaults.timeouts.call, 5);
  t.equal(c.defaults.timeouts.start, DEFAULTS.defaults.timeouts.start, "untouched siblings keep their defaults");
  t.equal(c.defaults.restart.backoff.maxMs, 7);
  t.equal(c.defaults.restart.backoff.initialMs, DEFAULTS.defaults.restart.backoff.initialMs);
});

t.test("BKG_* variables override the file", async (t) => {
  const f = write({ http: { port: 1000 } });
  const c = loadConfig({ file: f, env: { BKG_HTTP_PORT: "2000", BKG_LOG_LEVEL: "warn", BKG_HTTP_ENABLED: "false", BKG_SOCKET_PATH: "/tmp/x.sock" } });
  t.equal(c.http.port, 2000);
  t.equal(c.logLevel, "warn");
  t.equal(c.http.enabled, false);
  t.equal(c.socketPath, "/tmp/x.sock");
  const viaEnv = loadConfig({ env: { BKG_CONFIG: f }, cwd: "/" });
  t.equal(viaEnv.file, f, "BKG_CONFIG names the file");
});

t.test("every problem is reported with its JSON path", async (t) => {
  const f = write({ logLevel: "noisy", http: { port: -1 }, defaults: { restart: { policy: "sometimes" } }, extra: 1 });
  const err = t.throws(() => loadConfig({ file: f, env: { BKG_MAX_MESSAGE_BYTES: "lots" } })) as unknown as ConfigError;
  t.ok(err instanceof ConfigError);
  const paths = err.problems.map((p) => p.path).sort();
  t.same(paths, ["", "/defaults/restart/policy", "/http/port", "/limits/maxMessageBytes", "/logLevel"]);
  t.match(err.problems.find((p) => p.path === "")!.message, /unknown property "extra"/);
});

t.test("the nearest bkg.config.json is found from a subfolder, as git finds its repository (issue 11)", async (t) => {
  const project = mkdtempSync(join(tmpdir(), "bkg-find-"));
  t.teardown(() => rmSync(project, { recursive: true, force: true }));
  const deep = join(project, "plugins", "hello", "src");
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(project, "bkg.config.json"), JSON.stringify({ dataDir: "state", manifestsDir: "manifests" }));
  t.equal(findConfigFile(deep), join(project, "bkg.config.json"), "found two levels up");
  const c = loadConfig({ cwd: deep, env: {} });
  t.equal(c.file, join(project, "bkg.config.json"));
  t.equal(c.dataDir, join(project, "state"), "relative paths are relative to the file, not to the folder bkg runs in");
  t.equal(c.socketPath, join(project, "state", "bkg.sock"));
  writeFileSync(join(project, "plugins", "bkg.config.json"), JSON.stringify({ dataDir: "inner" }));
  t.equal(loadConfig({ cwd: deep, env: {} }).dataDir, join(project, "plugins", "inner"), "the nearest one wins");
  const other = join(project, "other.json");
  writeFileSync(other, JSON.stringify({ dataDir: "x" }));
  t.equal(loadConfig({ cwd: deep, env: { BKG_CONFIG: other } }).file, other, "BKG_CONFIG wins over the search");
  t.equal(loadConfig({ cwd: deep, file: other, env: {} }).file, other, "--config wins over the search");
});

t.test("connection limits: defaults, merging, and settings that contradict each other", async (t) => {
  const c = loadConfig({ cwd: dir, env: {} });
  t.same(c.socket, DEFAULTS.socket);
  t.same(c.http.ws, DEFAULTS.http.ws);
  t.equal(c.grpc.maxReceiveMessageBytes, 4 * 1024 * 1024);
  const merged = loadConfig({ file: write({ socket: { maxConnections: 7 }, http: { bodyLimit: 2048, ws: { maxConnections: 3 } } }), env: { BKG_HTTP_MAX_CONNECTIONS: "9" } });
  t.equal(merged.socket.maxConnections, 7);
  t.equal(merged.socket.maxFrameBytes, DEFAULTS.socket.maxFrameBytes, "untouched siblings keep their defaults");
  t.equal(merged.http.maxConnections, 9, "BKG_HTTP_MAX_CONNECTIONS");
  t.equal(merged.http.ws.maxPayloadBytes, 2048, "WebSocket messages follow http.bodyLimit unless set");
  t.equal(merged.http.ws.maxConnections, 3);
  const bad = () => loadConfig({ file: write({ http: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 }, socket: { outputPauseBytes: 4096, outputDropBytes: 2048 } }), env: {} });
  t.throws(bad, ConfigError);
  try {
    bad();
  } catch (e) {
    const paths = (e as ConfigError).problems.map((p) => p.path);
    t.same(paths.sort(), ["/http/headersTimeoutMs", "/socket/outputDropBytes"]);
  }
});
