/**
 * A model that is not pulled, missing a file, or corrupt: rustyface reports it at initialize
 * (its log and rustyface.status), answers model_unavailable for the model methods, and stays up
 * for the dataset methods.
 */
import t from "tap";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestDaemon } from "../helpers/daemon.js";
import { faceModelsDir, photoBase64, RUSTYFACE_READY_MS, rustyfaceManifest } from "../helpers/faces.js";

interface Status {
  modelReady: boolean;
  modelError: string | null;
  store: string;
}

/** The good yunet-sface folder of the store's test cache (pulled and folded once). */
const goodDir = join(await faceModelsDir(), "yunet-sface");
t.setTimeout(RUSTYFACE_READY_MS + 5 * 60_000);

function storeWith(files: { detector: (dir: string) => void; recognizer: (dir: string) => void } | undefined): string {
  const root = mkdtempSync(join(tmpdir(), "bkg-face-models-"));
  if (!files) return root;
  const dir = join(root, "yunet-sface");
  mkdirSync(dir);
  const good = JSON.parse(readFileSync(join(goodDir, "model.json"), "utf8")) as { files: { detector: string; recognizer: string } };
  files.detector(join(dir, good.files.detector));
  files.recognizer(join(dir, good.files.recognizer));
  writeFileSync(join(dir, "model.json"), JSON.stringify({ ...good, files: good.files }));
  return root;
}

const real = (role: "detector" | "recognizer") => (to: string) => {
  const good = JSON.parse(readFileSync(join(goodDir, "model.json"), "utf8")) as { files: Record<string, string> };
  copyFileSync(join(goodDir, good.files[role]), to);
};

const cases: Array<[string, string | undefined, RegExp]> = [
  ["not pulled", storeWith(undefined), /model "yunet-sface" is not pulled: run `bkg models pull yunet-sface`/],
  ["a missing file", storeWith({ detector: real("detector"), recognizer: () => undefined }), /is missing .*face_recognition_sface.*run `bkg models pull yunet-sface` again/],
  ["a corrupt file", storeWith({ detector: (to) => writeFileSync(to, Buffer.from("this is not an ONNX model at all")), recognizer: real("recognizer") }), /cannot be loaded .*corrupt/],
];

// One daemon, one rustyface per case (the plugin's name is the manifest's).
t.test("a model not pulled, missing a file or corrupt: reported at initialize, the plugin stays up", async (t) => {
  const names = cases.map((_, i) => `face${i}`);
  const manifests = Object.fromEntries(cases.map(([, modelsDir], i) => [names[i], rustyfaceManifest({ modelsDir }, { name: names[i] })]));
  const d = await startTestDaemon(manifests);
  t.teardown(async () => {
    await d.stop();
    for (const [, dir] of cases) rmSync(dir!, { recursive: true, force: true });
  });
  for (const name of names) await d.waitState(name, "ready", RUSTYFACE_READY_MS);
  for (const [i, [what, , message]] of cases.entries()) {
    const name = names[i];
    const line = () =>
      d
        .output()
        .split("\n")
        .find((l) => l.includes("face models unavailable") && l.includes(`"plugin":"${name}"`));
    await d.waitFor(() => line() !== undefined, `${name}'s error log at initialize`);
    t.match((JSON.parse(line()!) as { error: string }).error, message, `${what}: logged at initialize`);
    const status = await d.client.call<Status>(`${name}.status`);
    t.equal(status.modelReady, false, `${what}: status says the model is not ready`);
    t.match(status.modelError, message, `${what}: status says why`);
    const e = await d.client.call(`${name}.detect`, { image: photoBase64("astronaut.png") }).catch((x: unknown) => x);
    t.match(e, { code: -33010, data: { reason: "model_unavailable" }, message }, `${what}: detect answers model_unavailable`);
    // The dataset methods keep working.
    await d.client.call(`${name}.datasets.create`, { name: "still-here" });
    t.match(await d.client.call(`${name}.datasets.list`), { datasets: [{ name: "still-here" }] }, `${what}: datasets work`);
  }
});
