/**
 * rustyface through a real daemon with the real YuNet/SFace models (folded to float32 by the
 * model store's prepare step) and real photos: detection against OpenCV's reference box,
 * verification on same/different people, datasets with enroll/identify/forget, every bad input.
 */
import t from "tap";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { BkgError } from "@bkg/protocol";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { faceModelsDir, facePhoto, photoBase64, RUSTYFACE_READY_MS, rustyfaceManifest } from "../helpers/faces.js";
import { decodePng, encodePng, mirror, pngClaiming, resize } from "../helpers/png.js";
import { encodeWebpLossless } from "../helpers/webp.js";

interface Face {
  box: [number, number, number, number];
  score: number;
  landmarks: [number, number][];
}
interface Detected {
  faces: Face[];
  width: number;
  height: number;
  ms: number;
}
interface Verified {
  similarity: number;
  same: boolean;
  threshold: number;
}
interface Identified {
  faces: Array<Face & { matches: Array<{ subject: string; similarity: number; faceId: string }> }>;
}

const SFACE_THRESHOLD = 0.363;
const modelsDir = await faceModelsDir();
// The first daemon of a clean clone waits for the plugin's cargo build (its manifest build step).
t.setTimeout(RUSTYFACE_READY_MS + 5 * 60_000);
const img = (name: string) => photoBase64(name);

async function failure(p: Promise<unknown>): Promise<BkgError & { data?: { reason?: string } }> {
  try {
    await p;
  } catch (e) {
    return e as BkgError & { data?: { reason?: string } };
  }
  throw new Error("the call succeeded but should have failed");
}

let d: TestDaemon;
t.before(async () => {
  d = await startTestDaemon({ rustyface: rustyfaceManifest({ modelsDir, imageRoots: [dirname(facePhoto("astronaut.png"))] }) });
  await d.waitState("rustyface", "ready", RUSTYFACE_READY_MS);
});
t.teardown(() => d?.stop());

t.test("status names the model and the store", async (t) => {
  const s = await d.client.call<Record<string, unknown>>("rustyface.status");
  t.equal(s.modelReady, true, String(s.modelError));
  t.equal(s.store, "sqlite");
  t.equal(s.matchThreshold, SFACE_THRESHOLD);
});

t.test("astronaut.png: one face, box within 3 px of OpenCV's [178, 63, 90, 114]", async (t) => {
  const r = await d.client.call<Detected>("rustyface.detect", { image: img("astronaut.png") });
  t.equal(r.width, 512);
  t.equal(r.height, 512);
  t.equal(r.faces.length, 1, JSON.stringify(r.faces));
  const [face] = r.faces;
  const reference = [178, 63, 90, 114];
  face.box.forEach((v, i) => t.ok(Math.abs(v - reference[i]) <= 3, `box[${i}] = ${v.toFixed(1)}, reference ${reference[i]}`));
  t.ok(face.score >= 0.9, `score ${face.score}`);
  t.equal(face.landmarks.length, 5);
  // The eyes lie inside the box's upper half, the mouth corners in its lower half.
  const [x, y, w, h] = face.box;
  for (const [i, [lx, ly]] of face.landmarks.entries()) {
    t.ok(lx > x && lx < x + w && ly > y && ly < y + h, `landmark ${i} inside the box`);
  }
  t.ok(face.landmarks[0][1] < y + h / 2 && face.landmarks[3][1] > y + h / 2, "eyes above the middle, mouth below");
  // The thresholds per call: above the face's score nothing is kept.
  const strict = await d.client.call<Detected>("rustyface.detect", { image: img("astronaut.png"), scoreThreshold: Math.min(1, face.score + 0.02) });
  t.same(strict.faces, [], "scoreThreshold above the face's score: no face");
  const loose = await d.client.call<Detected>("rustyface.detect", { image: img("astronaut.png"), scoreThreshold: 0.3, nmsThreshold: 0.3, maxFaces: 1 });
  t.equal(loose.faces.length, 1, "maxFaces bounds the list");
});

t.test("every format the plugin claims: JPEG, PNG and WebP", async (t) => {
  const jpeg = readFileSync(facePhoto("person_a_1.jpg"));
  t.same([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff], "person_a_1.jpg is a JPEG");
  const fromJpeg = await d.client.call<Detected>("rustyface.detect", { image: jpeg.toString("base64") });
  t.equal(fromJpeg.faces.length, 1, "JPEG: one face");

  const png = readFileSync(facePhoto("astronaut.png"));
  t.equal(png.subarray(1, 4).toString("latin1"), "PNG", "astronaut.png is a PNG");
  const fromPng = await d.client.call<Detected>("rustyface.detect", { image: png.toString("base64") });
  t.equal(fromPng.faces.length, 1, "PNG: one face");

  // The same pixels as a lossless WebP: the decoder must give back exactly the PNG's image.
  const webp = encodeWebpLossless(decodePng(png));
  t.equal(webp.subarray(8, 16).toString("latin1"), "WEBPVP8L", "a lossless WebP file");
  const fromWebp = await d.client.call<Detected>("rustyface.detect", { image: `data:image/webp;base64,${webp.toString("base64")}` });
  t.equal(fromWebp.width, 512);
  t.equal(fromWebp.faces.length, 1, "WebP: one face");
  fromWebp.faces[0].box.forEach((v, i) => t.ok(Math.abs(v - fromPng.faces[0].box[i]) < 0.01, `WebP box[${i}] ${v.toFixed(2)} = PNG's ${fromPng.faces[0].box[i].toFixed(2)}`));
  const same = await d.client.call<Verified>("rustyface.verify", { a: png.toString("base64"), b: webp.toString("base64") });
  t.ok(same.similarity > 0.9999, `PNG vs WebP of the same pixels: similarity ${same.similarity}`);
});

t.test("a path inside imageRoots is read; outside it is refused", async (t) => {
  const inside = await d.client.call<Detected>("rustyface.detect", { image: { path: facePhoto("astronaut.png") } });
  t.equal(inside.faces.length, 1, "read from the configured root");
  for (const path of ["/etc/hostname", join(dirname(facePhoto("astronaut.png")), "..", "..", "..", "..", "etc", "passwd")]) {
    const e = await failure(d.client.call("rustyface.detect", { image: { path } }));
    t.equal(e.code, -32602, `${path}: refused`);
    t.equal(e.data?.reason, "path_not_allowed", e.message);
  }
  const missing = await failure(d.client.call("rustyface.detect", { image: { path: join(dirname(facePhoto("astronaut.png")), "nope.jpg") } }));
  t.equal(missing.data?.reason, "path_not_readable", missing.message);
});

t.test("embed: a 128-d unit vector per face", async (t) => {
  const r = await d.client.call<{ faces: Array<Face & { embedding: number[] }>; dim: number }>("rustyface.embed", { image: img("person_a_1.jpg") });
  t.equal(r.dim, 128);
  t.equal(r.faces.length, 1);
  const e = r.faces[0].embedding;
  t.equal(e.length, 128);
  t.ok(Math.abs(Math.hypot(...e) - 1) < 1e-4, "L2-normalised");
  // Embedding the face detect returned gives the same vector.
  const det = await d.client.call<Detected>("rustyface.detect", { image: img("person_a_1.jpg") });
  const again = await d.client.call<{ faces: Array<{ embedding: number[] }> }>("rustyface.embed", { image: img("person_a_1.jpg"), face: det.faces[0] });
  const dot = again.faces[0].embedding.reduce((s, v, i) => s + v * e[i], 0);
  t.ok(dot > 0.9999, `same face, same vector (cosine ${dot})`);
});

t.test("verify: same person above 0.363, different people below", async (t) => {
  const same = [
    ["person_a_1.jpg", "person_a_2.jpg"],
    ["person_b_1.jpg", "person_b_2.jpg"],
  ];
  const different = [
    ["person_a_1.jpg", "person_b_1.jpg"],
    ["person_a_2.jpg", "person_b_2.jpg"],
    ["person_a_1.jpg", "impostor_1.jpg"],
    ["person_a_2.jpg", "impostor_2.jpg"],
    ["person_b_1.jpg", "impostor_1.jpg"],
    ["person_b_2.jpg", "impostor_2.jpg"],
    ["impostor_1.jpg", "impostor_2.jpg"],
  ];
  for (const [a, b] of same) {
    const r = await d.client.call<Verified>("rustyface.verify", { a: img(a), b: img(b) });
    t.ok(r.similarity > SFACE_THRESHOLD && r.same, `${a} ~ ${b}: ${r.similarity.toFixed(3)}`);
    t.equal(r.threshold, SFACE_THRESHOLD);
  }
  for (const [a, b] of different) {
    const r = await d.client.call<Verified>("rustyface.verify", { a: img(a), b: img(b) });
    t.ok(r.similarity < SFACE_THRESHOLD && !r.same, `${a} vs ${b}: ${r.similarity.toFixed(3)}`);
  }
});

t.test("mirrored and resized copies of a face stay above the threshold", async (t) => {
  const original = decodePng(readFileSync(facePhoto("astronaut.png")));
  const variants: Record<string, Buffer> = {
    mirrored: encodePng(mirror(original)),
    "half size (256x256)": encodePng(resize(original, 256, 256)),
    "1.6x (819x819)": encodePng(resize(original, 819, 819)),
    "squashed (512x300)": encodePng(resize(original, 512, 300)),
  };
  for (const [name, png] of Object.entries(variants)) {
    const r = await d.client.call<Verified>("rustyface.verify", { a: img("astronaut.png"), b: png.toString("base64") });
    t.ok(r.similarity > SFACE_THRESHOLD, `${name}: ${r.similarity.toFixed(3)}`);
  }
  const mirrored = await d.client.call<Detected>("rustyface.detect", { image: variants.mirrored.toString("base64") });
  t.equal(mirrored.faces.length, 1);
  const [x, , w] = mirrored.faces[0].box;
  t.ok(Math.abs(512 - (x + w) - 178) <= 4, `the mirrored box mirrors the original (x ${x.toFixed(1)})`);
});

t.test("datasets: enroll several images, identify, forget", async (t) => {
  const created = await d.client.call<{ name: string }>("rustyface.datasets.create", { name: "staff", metadata: { team: "test" } });
  t.equal(created.name, "staff");
  const dup = await failure(d.client.call("rustyface.datasets.create", { name: "staff" }));
  t.equal(dup.data?.reason, "exists");

  const enrolled = await d.client.call<{ faceId: string; facesInImage: number }>("rustyface.enroll", {
    dataset: "staff",
    subject: "macron",
    image: img("person_a_1.jpg"),
    metadata: { source: "2014" },
  });
  t.match(enrolled.faceId, /^face_/);
  t.equal(enrolled.facesInImage, 1);
  await d.client.call("rustyface.enroll", { dataset: "staff", subject: "ardern", image: img("person_b_1.jpg") });
  await d.client.call("rustyface.enroll", { dataset: "staff", subject: "obama", image: img("impostor_1.jpg") });
  const extra = await d.client.call<{ faceId: string }>("rustyface.enroll", { dataset: "staff", subject: "ardern", image: img("person_b_2.jpg") });

  const list = await d.client.call<{ datasets: Array<{ name: string; subjects: number; faces: number }> }>("rustyface.datasets.list");
  t.match(list.datasets, [{ name: "staff", subjects: 3, faces: 4 }]);

  const a2 = await d.client.call<Identified>("rustyface.identify", { dataset: "staff", image: img("person_a_2.jpg"), topK: 3 });
  t.equal(a2.faces.length, 1);
  t.equal(a2.faces[0].matches[0]?.subject, "macron", JSON.stringify(a2.faces[0].matches));
  t.ok(
    a2.faces[0].matches.every((m) => m.similarity >= SFACE_THRESHOLD),
    "only matches at or above the threshold",
  );

  const stranger = await d.client.call<Identified>("rustyface.identify", { dataset: "staff", image: img("impostor_2.jpg") });
  t.same(stranger.faces[0].matches, [], "a person not enrolled matches nobody");

  // forget one face of ardern, then the whole subject.
  const forgotFace = await d.client.call<{ removed: number }>("rustyface.forget", { dataset: "staff", faceId: extra.faceId });
  t.equal(forgotFace.removed, 1);
  const b1 = await d.client.call<Identified>("rustyface.identify", { dataset: "staff", image: img("person_b_1.jpg") });
  t.equal(b1.faces[0].matches[0]?.subject, "ardern");
  t.equal((await d.client.call<{ removed: number }>("rustyface.forget", { dataset: "staff", subject: "ardern" })).removed, 1);
  const gone = await d.client.call<Identified>("rustyface.identify", { dataset: "staff", image: img("person_b_1.jpg") });
  t.same(gone.faces[0].matches, []);

  const subjects = await d.client.call<{ subjects: Array<{ subject: string; faces: number }> }>("rustyface.subjects", { dataset: "staff" });
  t.same(subjects.subjects, [
    { subject: "macron", faces: 1 },
    { subject: "obama", faces: 1 },
  ]);

  const del = await d.client.call<{ faces: number }>("rustyface.datasets.delete", { name: "staff" });
  t.equal(del.faces, 2);
  t.same((await d.client.call<{ datasets: unknown[] }>("rustyface.datasets.list")).datasets, []);
});

t.test("bad input", async (t) => {
  await d.client.call("rustyface.datasets.create", { name: "bad-input" });
  const cases: Array<[string, string, Record<string, unknown>, number, string]> = [
    ["not an image", "rustyface.detect", { image: Buffer.from("hello, this is text").toString("base64") }, -32602, "not_an_image"],
    ["not base64", "rustyface.detect", { image: "%%%not base64%%%" }, -32602, "bad_image"],
    ["a truncated JPEG", "rustyface.detect", { image: readFileSync(facePhoto("person_a_2.jpg")).subarray(0, 60_000).toString("base64") }, -32602, "corrupt_image"],
    ["a 1x1 image", "rustyface.detect", { image: encodePng({ width: 1, height: 1, data: new Uint8Array([9, 9, 9]) }).toString("base64") }, -32602, "image_too_small"],
    ["a 20000x20000 image", "rustyface.detect", { image: pngClaiming(20000, 20000).toString("base64") }, -32602, "image_too_large"],
    ["an unknown dataset (identify)", "rustyface.identify", { dataset: "nosuch", image: img("astronaut.png") }, -33010, "not_found"],
    ["an unknown dataset (enroll)", "rustyface.enroll", { dataset: "nosuch", subject: "x", image: img("astronaut.png") }, -33010, "not_found"],
    ["an unknown dataset (delete)", "rustyface.datasets.delete", { name: "nosuch" }, -33010, "not_found"],
    ["an unknown subject", "rustyface.forget", { dataset: "bad-input", subject: "nobody" }, -33010, "not_found"],
    ["an unknown face id", "rustyface.forget", { dataset: "bad-input", faceId: "face_0" }, -33010, "not_found"],
    ["forget with neither subject nor faceId", "rustyface.forget", { dataset: "bad-input" }, -32602, "bad_params"],
    ["a dataset name with a slash", "rustyface.datasets.create", { name: "a/b" }, -32602, "bad_name"],
    ["enrolling an image with no face", "rustyface.enroll", { dataset: "bad-input", subject: "x", image: noFacePng() }, -32602, "no_face"],
    ["verify with no face in b", "rustyface.verify", { a: img("astronaut.png"), b: noFacePng() }, -32602, "no_face"],
  ];
  for (const [what, method, params, code, reason] of cases) {
    const e = await failure(d.client.call(method, params));
    t.equal(e.code, code, `${what}: code (${e.message})`);
    t.equal(e.data?.reason, reason, `${what}: reason`);
    t.ok(e.message.length > 10, `${what}: says why: ${e.message}`);
  }
  const missing = await failure(d.client.call("rustyface.detect", {}));
  t.equal(missing.code, -32602, "a missing image fails the params schema");

  const none = await d.client.call<Detected>("rustyface.detect", { image: noFacePng() });
  t.same(none.faces, [], "an image with no face: an empty list, not an error");
  t.equal(none.width, 320);

  // The plugin is still serving after all of that.
  t.equal((await d.client.call<Detected>("rustyface.detect", { image: img("astronaut.png") })).faces.length, 1);
});

/** A 320x240 smooth gradient: an image, but no face in it. */
function noFacePng(): string {
  const width = 320;
  const height = 240;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x % 256, y, (x + y) % 256], (y * width + x) * 3);
  return encodePng({ width, height, data }).toString("base64");
}
