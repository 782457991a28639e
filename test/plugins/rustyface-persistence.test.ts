/**
 * rustyface's datasets live in the store, not the process: they survive a daemon restart and a
 * hot swap (SQLite in the plugin's data folder), and the same holds with PostgreSQL + pgvector.
 */
import t from "tap";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { faceModelsDir, photoBase64, RUSTYFACE_READY_MS, rustyfaceManifest } from "../helpers/faces.js";
import { startPostgres } from "../helpers/postgres.js";

interface Identified {
  faces: Array<{ matches: Array<{ subject: string; similarity: number }> }>;
}
const modelsDir = await faceModelsDir();
// Four daemon starts, each loading the models (the first maybe waiting for the plugin's first
// cargo build): more than tap's default 120 s on a busy machine.
t.setTimeout(RUSTYFACE_READY_MS + 6 * 60_000);

async function boot(dataDir: string, config: Record<string, unknown> = {}): Promise<TestDaemon> {
  const d = await startTestDaemon({ rustyface: rustyfaceManifest({ modelsDir, ...config }) }, { dataDir });
  await d.waitState("rustyface", "ready", RUSTYFACE_READY_MS);
  return d;
}

async function enrollTwo(d: TestDaemon): Promise<void> {
  await d.client.call("rustyface.datasets.create", { name: "people" });
  await d.client.call("rustyface.enroll", { dataset: "people", subject: "macron", image: photoBase64("person_a_1.jpg") });
  await d.client.call("rustyface.enroll", { dataset: "people", subject: "ardern", image: photoBase64("person_b_1.jpg") });
}

async function whoIs(d: TestDaemon, photo: string): Promise<string | undefined> {
  const r = await d.client.call<Identified>("rustyface.identify", { dataset: "people", image: photoBase64(photo) });
  return r.faces[0]?.matches[0]?.subject;
}

t.test("SQLite: a dataset survives a daemon restart and a hot swap", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "bkg-face-data-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

  const first = await boot(dataDir);
  t.match((await first.client.plugins.info("rustyface")).build, { state: /^(succeeded|skipped)$/ }, "the manifest's cargo build ran (or found its record)");
  await enrollTwo(first);
  t.equal(await whoIs(first, "person_a_2.jpg"), "macron");
  await first.stop();

  const second = await boot(dataDir);
  t.teardown(() => second.stop());
  // The same data folder keeps the last successful build's input hash: nothing changed, no cargo run.
  t.match((await second.client.plugins.info("rustyface")).build, { state: "skipped", reason: /inputs unchanged/ }, "the restarted daemon skips the build (sources unchanged)");
  const list = await second.client.call<{ datasets: Array<{ name: string; subjects: number; faces: number }> }>("rustyface.datasets.list");
  t.match(list.datasets, [{ name: "people", subjects: 2, faces: 2 }], "the dataset is still there after the restart");
  t.equal(await whoIs(second, "person_a_2.jpg"), "macron");
  t.equal(await whoIs(second, "person_b_2.jpg"), "ardern");

  // A hot swap (new manifest version): the new instance opens the same database.
  const before = (await second.client.plugins.info("rustyface")).instances.map((i) => i.pid);
  second.writeManifest("rustyface", rustyfaceManifest({ modelsDir }, { version: "0.1.1" }));
  await second.waitFor(
    async () => {
      const now = (await second.client.plugins.info("rustyface")).instances;
      return now.length > 0 && now.every((i) => !before.includes(i.pid) && i.state === "ready");
    },
    "the swapped-in instance",
    60_000,
  );
  t.equal(await whoIs(second, "person_b_2.jpg"), "ardern", "the new instance serves the same dataset");
});

t.test("PostgreSQL + pgvector: datasets in the database survive a restart", async (t) => {
  const pg = await startPostgres();
  t.teardown(() => pg.stop());
  const url = await pg.createDatabase("faces");
  const dataDir = mkdtempSync(join(tmpdir(), "bkg-face-data-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

  const first = await boot(dataDir, { postgresUrl: url });
  const status = await first.client.call<{ store: string }>("rustyface.status");
  t.equal(status.store, "postgres");
  await enrollTwo(first);
  await first.client.call("rustyface.enroll", { dataset: "people", subject: "ardern", image: photoBase64("person_b_2.jpg") });
  await first.stop();

  // A fresh data folder: nothing can come from SQLite.
  rmSync(dataDir, { recursive: true, force: true });
  const second = await boot(mkdtempSync(join(tmpdir(), "bkg-face-data-")), { postgresUrl: url });
  t.teardown(() => second.stop());
  const subjects = await second.client.call<{ subjects: unknown[] }>("rustyface.subjects", { dataset: "people" });
  t.same(subjects.subjects, [
    { subject: "ardern", faces: 2 },
    { subject: "macron", faces: 1 },
  ]);
  t.equal(await whoIs(second, "person_a_2.jpg"), "macron");
  const top = await second.client.call<Identified>("rustyface.identify", { dataset: "people", image: photoBase64("person_b_1.jpg"), topK: 2 });
  t.equal(top.faces[0].matches[0].subject, "ardern");
  t.ok(top.faces[0].matches[0].similarity > 0.99, "an enrolled photo finds itself (pgvector cosine distance)");
  const stranger = await second.client.call<Identified>("rustyface.identify", { dataset: "people", image: photoBase64("impostor_1.jpg") });
  t.same(stranger.faces[0].matches, []);
  t.equal((await second.client.call<{ removed: number }>("rustyface.forget", { dataset: "people", subject: "ardern" })).removed, 2);
  const e = await second.client.call("rustyface.forget", { dataset: "people", subject: "ardern" }).catch((x: { data?: { reason?: string } }) => x);
  t.equal((e as { data?: { reason?: string } }).data?.reason, "not_found");
});
