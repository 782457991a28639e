/** storage, telemetry and logs in the config: defaults, the file, the environment, and bad values. */
import { join } from "node:path";
import t from "tap";
import { configLoader, configProblems } from "../../helpers/config.js";
import { storeTarget } from "../../../src/store/index.js";

const { load } = configLoader(t, "bkg-cfg-");

t.test("defaults", async (t) => {
  const c = load(undefined);
  t.same(c.storage, {});
  t.same(c.telemetry, { enabled: true, flushMs: 5000, retentionDays: 7, tracing: { enabled: true, sampleRatio: 1, bufferTraces: 1000, spansPerTrace: 200 }, otlp: undefined });
  t.same(c.logs, { maxBytes: 10 * 1024 * 1024, files: 5, daemonLinesPerSec: 200, daemonBurst: 1000, maxLineBytes: 16384 });
  t.same(storeTarget(c.storage.url, c.dataDir), { ok: true, value: { driver: "sqlite", where: join(c.dataDir, "bkg.db") } });
});

t.test("the file, then the environment", async (t) => {
  const c = load({ storage: { url: "sqlite:state/t.db" }, telemetry: { flushMs: 1000 }, logs: { files: 2 } }, { BKG_TELEMETRY_ENABLED: "false", BKG_LOGS_MAX_BYTES: "4096", BKG_NODE_ID: "node-1" });
  t.same(c.telemetry, { enabled: false, flushMs: 1000, retentionDays: 7, tracing: { enabled: true, sampleRatio: 1, bufferTraces: 1000, spansPerTrace: 200 }, otlp: undefined });
  t.same(c.logs, { maxBytes: 4096, files: 2, daemonLinesPerSec: 200, daemonBurst: 1000, maxLineBytes: 16384 });
  t.same(c.storage, { url: "sqlite:state/t.db", nodeId: "node-1" });
  t.same(storeTarget(c.storage.url, c.dataDir), { ok: true, value: { driver: "sqlite", where: join(c.dataDir, "state/t.db") } });
  const pg = load({}, { BKG_STORAGE_URL: "postgresql://bkg:secret@db.internal:5432/bkg" });
  t.match(storeTarget(pg.storage.url, pg.dataDir), { ok: true, value: { driver: "postgres", where: "postgresql://bkg:secret@db.internal:5432/bkg" } });
});

t.test("bad values name their path", async (t) => {
  const err = configProblems;
  t.match(
    err(() => load({ storage: { url: "mysql://x" } })),
    /\/storage\/url must match pattern/,
  );
  t.match(
    err(() => load({ telemetry: { flushMs: 5 } })),
    /\/telemetry\/flushMs must be >= 100/,
  );
  t.match(
    err(() => load({ logs: { files: 0 } })),
    /\/logs\/files must be >= 1/,
  );
  t.match(
    err(() => load({}, { BKG_TELEMETRY_RETENTION_DAYS: "a week" })),
    /BKG_TELEMETRY_RETENTION_DAYS="a week" is not a valid integer/,
  );
  t.match(storeTarget("redis://x", "/d"), { ok: false, error: /neither postgres:\/\/user@host\/db nor sqlite:\/path\/to\/file\.db/ });
});
