/**
 * The daemon's side of the model store: it creates models.dir, removes pulls a killed process
 * left half done, and gives every plugin BKG_MODELS_DIR (absolute).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import t from "tap";
import { rogueManifest, startTestDaemon } from "../helpers/daemon.js";

t.test("default models.dir: <dataDir>/models, created, and handed to plugins", async (t) => {
  const d = await startTestDaemon({ rogue: rogueManifest("rogue", "ok") });
  t.teardown(() => d.stop());
  await d.waitState("rogue", "ready");
  const { env } = (await d.client.call("rogue.env")) as { env: Record<string, string> };
  t.equal(env.BKG_MODELS_DIR, join(d.dir, "data", "models"));
  t.ok(existsSync(env.BKG_MODELS_DIR), "the folder exists");
});

t.test("a configured models.dir (relative to the config file); a killed pull's work folder is removed at start", async (t) => {
  const { mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const shared = mkdtempSync(join(tmpdir(), "bkg-models-e2e-"));
  // A pull by a process that is gone (pid 2^22+1 is above Linux's pid_max default... and dead).
  const leftover = join(shared, ".tmp", "smollm2-135m-instruct-4194305-deadbeef");
  mkdirSync(leftover, { recursive: true });
  writeFileSync(join(leftover, "file-0"), "half a model");
  const d = await startTestDaemon({ rogue: rogueManifest("rogue", "ok") }, { models: { dir: shared } });
  t.teardown(() => d.stop());
  await d.waitState("rogue", "ready");
  const { env } = (await d.client.call("rogue.env")) as { env: Record<string, string> };
  t.equal(env.BKG_MODELS_DIR, shared);
  t.ok(isAbsolute(env.BKG_MODELS_DIR));
  t.notOk(existsSync(leftover), "the interrupted pull's files are gone");
  t.match(d.output(), /removed 1 interrupted model pull/);
});
