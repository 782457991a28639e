/**
 * The store, against both drivers from one file: the same cases run on SQLite and on a
 * throwaway PostgreSQL (pgserver's binaries, started here). A PostgreSQL that cannot be
 * started fails the PostgreSQL cases with the reason; nothing is skipped.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import t, { type Test } from "tap";
import { latestVersion, migrationsFor, openStore, type ModelRow, type Batch, type NodeRecord, type Result, type Store, type StoredEvent } from "../../src/store/index.js";
import { CallRecorder } from "../../src/telemetry/recorder.js";
import { EventQueue } from "../../src/telemetry/event-queue.js";
import { Flusher } from "../../src/telemetry/flusher.js";
import { summarizeInstances, summarizeRollups } from "../../src/telemetry/stats-summary.js";
import { echoManifest, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { startPostgres } from "../helpers/postgres.js";

// Starting a throwaway PostgreSQL (initdb included) takes a minute on a busy 2-core machine.
t.setTimeout(6 * 60_000);

interface Env {
  /** A fresh, empty database: its storage.url. */
  fresh(name: string): Promise<string>;
  /** Runs raw SQL against a database (to fake a newer schema). */
  exec(url: string, sql: string): Promise<void>;
  stop(): Promise<void>;
}

const DRIVERS: Record<string, () => Promise<Env>> = {
  sqlite: async () => {
    const dir = mkdtempSync(join(tmpdir(), "bkg-store-"));
    return {
      fresh: async (name) => `sqlite:${join(dir, `${name}.db`)}`,
      exec: async (url, sql) => {
        const db = new Database(url.slice("sqlite:".length));
        db.exec(sql);
        db.close();
      },
      stop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  postgres: async () => {
    const server = await startPostgres();
    return {
      fresh: (name) => server.createDatabase(name),
      exec: async (url, sql) => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        await c.query(sql);
        await c.end();
      },
      stop: () => server.stop(),
    };
  },
};

const silent = { info() {}, warn() {}, error() {}, debug() {} } as never;

function value<T>(t: Test, r: Result<T>): T {
  if (!r.ok) {
    t.fail(r.error);
    throw new Error(r.error);
  }
  return r.value;
}

async function opened(t: Test, url: string): Promise<Store> {
  const s = value(t, await openStore(url, tmpdir()));
  t.teardown(() => s.close());
  return s;
}

const node = (nodeId: string, lastSeen: number): NodeRecord => ({
  nodeId,
  hostname: "h",
  pid: 1,
  version: "0.1.0",
  startedAt: lastSeen - 1000,
  lastSeen,
  state: "running",
  plugins: [{ name: "echo", state: "ready", instances: 1 }],
});
const empty = (): Batch => ({ events: [], rollups: [], instances: [] });

for (const [driver, setup] of Object.entries(DRIVERS)) {
  t.test(driver, async (t) => {
    let env: Env;
    try {
      env = await setup();
    } catch (e) {
      t.fail(`${driver} could not be started for the store tests: ${(e as Error).message}`);
      return;
    }
    t.teardown(() => env.stop());

    t.test("migrations: applied once, in order; a newer schema is refused", async (t) => {
      const url = await env.fresh("migrations");
      const s = await opened(t, url);
      t.equal(value(t, await s.schemaVersion()), 0, "an empty database has version 0");
      const first = value(t, await s.migrate());
      t.same(first, { from: 0, to: latestVersion(s.driver), applied: migrationsFor(s.driver).map((m) => `${String(m.version).padStart(3, "0")}_${m.name}`) });
      t.same(first.applied.slice(0, 2), ["001_init", "002_models"]);
      t.same(value(t, await s.migrate()), { from: latestVersion(s.driver), to: latestVersion(s.driver), applied: [] }, "a second migrate is a no-op");
      // Two stores migrating the same fresh database at once: one applies, the other sees it done.
      const url2 = await env.fresh("migrations_race");
      const [a, b] = [await opened(t, url2), await opened(t, url2)];
      const both = await Promise.all([a.migrate(), b.migrate()]);
      t.same(both.map((r) => r.ok && r.value.applied.length).sort(), [0, latestVersion(s.driver)], "concurrent migrations apply once");

      await env.exec(url, `INSERT INTO bkg_schema (version, name, applied_at) VALUES (${latestVersion(s.driver) + 1}, 'from_the_future', 0)`);
      const newer = await s.migrate();
      t.equal(newer.ok, false);
      t.match(!newer.ok && newer.error, new RegExp(`schema version ${latestVersion(s.driver) + 1}, but this bkg knows versions up to ${latestVersion(s.driver)}.*Upgrade bkg, or point storage\\.url`));
    });

    t.test("models: one row per node and name, replaced on a second pull, deleted by name", async (t) => {
      const s = await opened(t, await env.fresh("models"));
      value(t, await s.migrate());
      const row = (nodeId: string, name: string, size: number): ModelRow => ({
        nodeId,
        name,
        file: `${name}.gguf`,
        format: "gguf",
        size,
        sha256: "a".repeat(64),
        source: `catalog:${name}`,
        licence: "Apache-2.0",
        metadata: { architecture: "llama", parameters: 134_515_008, files: { model: `${name}.gguf` } },
        pulledAt: 1_760_000_000_000,
      });
      value(t, await s.putModel(row("n1", "b-model", 1)));
      value(t, await s.putModel(row("n1", "a-model", 2)));
      value(t, await s.putModel(row("n2", "a-model", 3)));
      value(t, await s.putModel(row("n1", "b-model", 98_362_432)));
      const n1 = value(t, await s.models("n1"));
      t.same(
        n1.map((m) => [m.name, m.size]),
        [
          ["a-model", 2],
          ["b-model", 98_362_432],
        ],
        "by name; the second put replaced the first",
      );
      t.same(n1[1], row("n1", "b-model", 98_362_432), "every column round-trips");
      t.equal(value(t, await s.models()).length, 3, "all nodes");
      value(t, await s.deleteModels("n1", ["b-model", "never-pulled"]));
      t.same(
        value(t, await s.models("n1")).map((m) => m.name),
        ["a-model"],
      );
      t.same(
        value(t, await s.models("n2")).map((m) => m.name),
        ["a-model"],
        "another node's row is its own",
      );
    });

    t.test("events: written in batches, queried by time, plugin, kind and node", async (t) => {
      const s = await opened(t, await env.fresh("events"));
      value(t, await s.migrate());
      const base = Date.now() - 60_000;
      const events: StoredEvent[] = [];
      for (let i = 0; i < 30; i++) {
        events.push({
          nodeId: i % 3 === 0 ? "n2" : "n1",
          ts: base + i * 1000,
          kind: i % 2 ? "lifecycle" : "call-error",
          plugin: i % 5 === 0 ? "other" : "echo",
          instance: "echo#1",
          name: i % 2 ? "ready" : "reverse",
          code: i % 2 ? undefined : -32602,
          message: `event ${i}`,
          data: i === 4 ? { nested: [1, "two"] } : undefined,
        });
      }
      value(t, await s.write({ ...empty(), events: events.slice(0, 10) }));
      value(t, await s.write({ ...empty(), events: events.slice(10) }));
      const all = value(t, await s.events({ limit: 1000 }));
      t.equal(all.length, 30);
      t.same(
        all.map((e) => e.message),
        events.map((e) => e.message),
        "oldest first",
      );
      t.ok(
        all.every((e) => typeof e.id === "number"),
        "ids assigned",
      );
      t.same(all[4].data, { nested: [1, "two"] }, "data round-trips as JSON");
      t.equal(all[4].code, -32602);
      t.equal(all[1].code, undefined, "absent fields stay absent");
      const newest = value(t, await s.events({ limit: 5 }));
      t.same(
        newest.map((e) => e.message),
        ["event 25", "event 26", "event 27", "event 28", "event 29"],
        "limit keeps the newest, oldest first",
      );
      t.equal(value(t, await s.events({ since: base + 20_000, limit: 1000 })).length, 10, "since is inclusive");
      t.equal(value(t, await s.events({ since: base + 10_000, until: base + 20_000, limit: 1000 })).length, 10, "until is exclusive");
      t.ok(value(t, await s.events({ plugin: "other", limit: 1000 })).every((e) => e.plugin === "other"));
      t.equal(value(t, await s.events({ plugin: "other", limit: 1000 })).length, 6);
      t.equal(value(t, await s.events({ kinds: ["call-error"], limit: 1000 })).length, 15);
      t.equal(value(t, await s.events({ kinds: ["call-error", "lifecycle"], nodeId: "n2", limit: 1000 })).length, 10);
    });

    t.test("rollups: the flusher's per-minute rows, rewritten while the minute is open; summaries merge them", async (t) => {
      const s = await opened(t, await env.fresh("rollups"));
      value(t, await s.migrate());
      const recorder = new CallRecorder();
      const queue = new EventQueue("n1");
      const runId = Date.now();
      const flusher = new Flusher({ store: s, queue, recorder, nodeId: "n1", runId, flushMs: 60_000, retentionDays: 7, node: () => node("n1", Date.now()), logger: silent });
      const record = (from: number, to: number, code = 0) => {
        for (let ms = from; ms <= to; ms++) recorder.done(recorder.started("echo", "reverse"), code, ms, ms / 10);
      };
      record(1, 50);
      await flusher.flush();
      record(51, 100);
      record(1, 4, -32602);
      await flusher.flush();
      const rows = value(t, await s.rollups({ since: Date.now() - 120_000 }));
      const minutes = new Set(rows.map((r) => r.minute));
      t.equal(rows.length, minutes.size, "one row per minute for this run (rewritten, not added)");
      const [m] = summarizeRollups(rows);
      t.match(m, { plugin: "echo", method: "reverse", calls: 104, errors: 4, errorsByCode: { "-32602": 4 }, maxMs: 100 });
      t.ok(Math.abs(m.p50! - 49) / 49 < 0.15, `p50 ${m.p50} ≈ 49 ms`);
      t.ok(Math.abs(m.p99! - 100) / 100 < 0.15, `p99 ${m.p99} ≈ 100 ms`);
      t.ok(Math.abs(m.queueWaitMeanMs - (5050 + 10) / 10 / 104) < 0.01, "queue wait mean");

      // Another run of the same node (a restart) writes rows of its own beside these.
      const other = { ...rows[0], runId: runId + 1, calls: 6, errors: 0, errorsByCode: {}, histogram: { "40": 6 } };
      value(t, await s.write({ ...empty(), rollups: [other] }));
      t.equal(summarizeRollups(value(t, await s.rollups({ since: 0 })))[0].calls, 110, "runs add up");
      t.equal(value(t, await s.rollups({ since: 0, plugin: "nope" })).length, 0, "filter by plugin");

      value(
        t,
        await s.write({
          ...empty(),
          instances: [{ nodeId: "n1", runId, minute: rows[0].minute, plugin: "echo", instance: "echo#1", pid: 42, rssBytes: 10, rssMaxBytes: 20, cpuPct: 5, uptimeMs: 1000, restarts: 1 }],
        }),
      );
      const [inst] = summarizeInstances(value(t, await s.instanceStats({ since: 0 })));
      t.match(inst, { plugin: "echo", instance: "echo#1", pid: 42, rssBytes: 10, rssMaxBytes: 20, cpuMeanPct: 5, restarts: 1 });
    });

    t.test("retention: prune deletes what is older than the cutoff, and nothing newer", async (t) => {
      const s = await opened(t, await env.fresh("retention"));
      value(t, await s.migrate());
      const now = Date.now();
      const old = now - 8 * 86_400_000;
      const minute = (ts: number) => Math.floor(ts / 60_000) * 60_000;
      const rollup = (ts: number) => ({
        nodeId: "n1",
        runId: 1,
        minute: minute(ts),
        plugin: "echo",
        method: "echo",
        calls: 1,
        errors: 0,
        errorsByCode: {},
        durationSum: 1,
        durationMax: 1,
        queueWaitSum: 0,
        queueWaitMax: 0,
        histogram: {},
      });
      const inst = (ts: number) => ({ nodeId: "n1", runId: 1, minute: minute(ts), plugin: "echo", instance: "echo#1", rssBytes: 1, rssMaxBytes: 1, cpuPct: 0, uptimeMs: 1, restarts: 0 });
      value(
        t,
        await s.write({
          events: [
            { nodeId: "n1", ts: old, kind: "daemon" },
            { nodeId: "n1", ts: now, kind: "daemon" },
          ],
          rollups: [rollup(old), rollup(now)],
          instances: [inst(old), inst(now)],
        }),
      );
      value(t, await s.write({ ...empty(), node: node("gone", old) }));
      value(t, await s.write({ ...empty(), node: node("here", now) }));
      const pruned = value(t, await s.prune(now - 7 * 86_400_000));
      t.same(pruned, { events: 1, rollups: 1, instances: 1, nodes: 1 });
      t.equal(value(t, await s.events({ since: 0 })).length, 1);
      t.equal(value(t, await s.rollups({ since: 0 })).length, 1);
      t.equal(value(t, await s.instanceStats({ since: 0 })).length, 1);
      t.same(
        value(t, await s.nodes()).map((n) => n.nodeId),
        ["here"],
      );
      t.same(value(t, await s.prune(now - 7 * 86_400_000)), { events: 0, rollups: 0, instances: 0, nodes: 0 }, "idempotent");
    });

    t.test("two daemons on one store see each other by node id", async (t) => {
      const url = await env.fresh("cluster");
      const config = { storage: { url }, telemetry: { flushMs: 250 } };
      const daemons: TestDaemon[] = [];
      t.teardown(() => Promise.all(daemons.map((d) => d.stop())));
      daemons.push(await startTestDaemon({ echo: echoManifest() }, { ...config, storage: { url, nodeId: `${driver}-a` } }));
      daemons.push(await startTestDaemon({ echo2: echoManifest("echo2") }, { ...config, storage: { url, nodeId: `${driver}-b` } }));
      const [a, b] = daemons;
      const nodesOf = (d: TestDaemon) => d.client.cluster.nodes();
      await a.waitFor(async () => (await nodesOf(a)).find((n) => n.nodeId === `${driver}-b`)?.plugins.some((p) => p.name === "echo2" && p.state === "ready") ?? false, "a to see b's echo2 ready");
      await b.waitFor(async () => (await nodesOf(b)).find((n) => n.nodeId === `${driver}-a`)?.plugins.some((p) => p.name === "echo" && p.state === "ready") ?? false, "b to see a's echo ready");
      const seenByA = JSON.parse((await a.cli(["status", "--cluster", "--json"])).stdout) as { nodeId: string; self: boolean }[];
      t.same(
        seenByA.map((n) => [n.nodeId, n.self]),
        [
          [`${driver}-a`, true],
          [`${driver}-b`, false],
        ],
        "this node first, then the others",
      );
      // b is "lost?" when its last heartbeat is older than 3 flushes, which a loaded machine can
      // make happen for a moment: the table is read until it shows b running.
      let table = { stdout: "" };
      await a.waitFor(async () => {
        table = await a.cli(["status", "--cluster"]);
        return new RegExp(`${driver}-b .*running`).test(table.stdout);
      }, "the table to show b running");
      t.match(table.stdout, new RegExp(`${driver}-a \\(this\\).*echo:ready`));
      t.match(table.stdout, new RegExp(`${driver}-b .*running.*echo2:ready`));

      // Each daemon's events carry its node id; a query can ask for one node.
      await b.client.call("echo2.reverse", { text: 1 }).catch(() => undefined);
      await b.waitFor(async () => (await b.client.events({ kinds: "call-error" })).length > 0, "b's call error stored");
      const fromB = await a.client.events({ node: `${driver}-b`, kinds: "call-error" });
      t.match(fromB, [{ nodeId: `${driver}-b`, plugin: "echo2", name: "reverse", code: -32602 }], "a reads b's events");

      await b.stop();
      daemons.pop();
      await a.waitFor(async () => (await nodesOf(a)).find((n) => n.nodeId === `${driver}-b`)?.state === "stopped", "b marked stopped after a graceful stop");
    });

    t.test("a daemon refuses to start against a newer schema", async (t) => {
      const url = await env.fresh("newer");
      const s = await opened(t, url);
      value(t, await s.migrate());
      await env.exec(url, "INSERT INTO bkg_schema (version, name, applied_at) VALUES (99, 'from_the_future', 0)");
      const err = await startTestDaemon({}, { storage: { url } }).then(
        async (d) => {
          await d.stop();
          return "started";
        },
        (e: Error) => e.message,
      );
      t.match(err, /daemon exited with 1/);
      t.match(err, new RegExp(`the daemon could not start: the store at .* has schema version 99, but this bkg knows versions up to ${latestVersion(driver as "sqlite" | "postgres")}`));
    });
  });
}
