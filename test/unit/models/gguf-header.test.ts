/** The GGUF header reader on headers written here and on the real SmolLM2 file. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { ggufMetadata, readGgufHeader } from "../../../src/models/gguf-header.js";
import { ggufHeader, tinyLlamaHeader } from "../../helpers/gguf.js";
import { testModelsDir } from "../../helpers/models.js";

const dir = mkdtempSync(join(tmpdir(), "bkg-gguf-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, b: Buffer) => {
  writeFileSync(join(dir, name), b);
  return join(dir, name);
};
const failure = (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (e: Error) => e.message,
  );

t.test("key/values, tensor infos and the metadata made of them", async (t) => {
  const h = await readGgufHeader(file("tiny.gguf", tinyLlamaHeader()));
  t.equal(h.version, 3);
  t.equal(h.tensorCount, 2);
  t.same(h.kv["tokenizer.ggml.tokens"], { arrayOf: 8, length: 3 }, "arrays are counted, not kept");
  t.same(h.tensorTypes, { Q4_1: 1, F32: 1 });
  t.same(ggufMetadata(h), {
    architecture: "llama",
    title: "Tiny Test",
    parameters: 2080,
    quantization: "Q4_1",
    contextLength: 2048,
    embeddingLength: 32,
    layers: 1,
    chatTemplate: true,
    ggufVersion: 3,
    tensors: 2,
  });
});

t.test("without general.file_type the commonest quantized tensor type names the quantization; no template is false", async (t) => {
  const h = await readGgufHeader(
    file(
      "q8.gguf",
      ggufHeader({ "general.architecture": { str: "gpt2" }, "general.parameter_count": { u64: 999 } }, [
        ["a", [4, 4], 8],
        ["b", [4], 8],
        ["c", [4], 0],
      ]),
    ),
  );
  t.match(ggufMetadata(h), { architecture: "gpt2", parameters: 999, quantization: "Q8_0", chatTemplate: false });
});

t.test("bad input: not GGUF, an unknown version, a truncated header", async (t) => {
  t.match(await failure(readGgufHeader(file("x.gguf", Buffer.from("PK\u0003\u0004 not a model")))), /not a GGUF file \(starts with "PK/);
  const v9 = tinyLlamaHeader();
  v9.writeUInt32LE(9, 4);
  t.match(await failure(readGgufHeader(file("v9.gguf", v9))), /GGUF version 9 is not supported/);
  t.match(await failure(readGgufHeader(file("cut.gguf", tinyLlamaHeader().subarray(0, 100)))), /ends inside its GGUF header \(truncated\?\)/);
});

t.test("the real SmolLM2-135M-Instruct Q4_1", async (t) => {
  const models = await testModelsDir(["smollm2-135m-instruct"]);
  const h = await readGgufHeader(join(models, "smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf"));
  t.match(ggufMetadata(h), { architecture: "llama", parameters: 134_515_008, quantization: "Q4_1", contextLength: 8192, chatTemplate: true, layers: 30 });
});
