/**
 * BrainML in tests: its manifest (the real plugin, with an absolute cwd) on SQLite or on a
 * throwaway PostgreSQL, and the two backends as a list to run one suite against both.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Test } from "tap";
import { ROOT, startTestDaemon, type TestDaemon } from "./daemon.js";
import { embeddingsManifest, minilmModelsDir } from "./embeddings-plugin.js";
import { startPostgres, type TestPostgres } from "./postgres.js";

export const BRAINML_DIR = join(ROOT, "plugins", "brainml");

export function brainmlManifest(config: Record<string, unknown> = { backend: "sqlite" }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const m = JSON.parse(readFileSync(join(ROOT, "manifests", "brainml.json"), "utf8")) as Record<string, unknown>;
  delete m.$schema;
  return { ...m, cwd: BRAINML_DIR, watch: [], config, restart: { backoff: { initialMs: 20, maxMs: 200 } }, ...extra };
}

export interface BackendUnderTest {
  name: "sqlite" | "postgres";
  /** A fresh database's plugin config. */
  config(db: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Both backends; PostgreSQL is started on first use (and fails the test with the reason if it cannot be). */
export function backends(): BackendUnderTest[] {
  let pg: Promise<TestPostgres> | undefined;
  return [
    { name: "sqlite", config: async () => ({ backend: "sqlite" }), stop: async () => undefined },
    {
      name: "postgres",
      config: async (db) => ({ backend: "postgres", postgres: { url: await (await (pg ??= startPostgres())).createDatabase(db) } }),
      stop: async () => {
        if (pg) await (await pg).stop();
      },
    },
  ];
}

/**
 * One subtest per backend, each with its own daemon running BrainML on a fresh database named
 * `db` and the real embeddings plugin with all-MiniLM-L6-v2. Sets the file's timeout: two
 * backends with their own daemons and plugin processes pass tap's 120 s on a loaded machine.
 */
export async function onEachBackendWithEmbeddings(t: Test, db: string, body: (t: Test, d: TestDaemon, backend: BackendUnderTest) => Promise<void>): Promise<void> {
  const modelsDir = await minilmModelsDir();
  t.setTimeout(10 * 60_000);
  const all = backends();
  t.teardown(async () => {
    for (const b of all) await b.stop();
  });
  for (const backend of all) {
    t.test(backend.name, async (t) => {
      const d = await startTestDaemon({ brainml: brainmlManifest(await backend.config(db)), embeddings: embeddingsManifest(modelsDir) });
      t.teardown(() => d.stop());
      await body(t, d, backend);
    });
  }
}
