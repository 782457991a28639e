/** The ONNX graph reader on the real all-MiniLM-L6-v2 int8 model, and on files that are not ONNX. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { readModelRecord } from "../../../src/models/index.js";
import { readOnnxGraph } from "../../../src/models/onnx-graph.js";
import { testModelsDir } from "../../helpers/models.js";

t.test("all-MiniLM-L6-v2: three int64 inputs, last_hidden_state [batch, sequence, 384]", async (t) => {
  const dir = await testModelsDir(["all-minilm-l6-v2"]);
  const g = await readOnnxGraph(join(dir, "all-minilm-l6-v2", "model.onnx"));
  t.same(
    g.inputs,
    ["input_ids", "attention_mask", "token_type_ids"].map((name) => ({ name, type: "int64", shape: ["batch", "sequence"] })),
  );
  t.same(g.outputs, [{ name: "last_hidden_state", type: "float32", shape: ["batch", "sequence", 384] }]);
  t.equal(g.opset, 17);
  const rec = readModelRecord(dir, "all-minilm-l6-v2")!;
  // A cache pulled before graphs were read has no graphs; one pulled since has the same answer.
  if (rec.metadata.graphs) t.same((rec.metadata.graphs as Record<string, unknown>).model, g, "model.json has what the reader says");
});

t.test("bad input: text, and an ONNX file cut short", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-onnx-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "text.onnx"), "not onnx at all\n");
  await t.rejects(readOnnxGraph(join(dir, "text.onnx")), /wire type 6 at byte 1 \(not an ONNX model\?\)/);
  const models = await testModelsDir(["all-minilm-l6-v2"]);
  const { readFileSync } = await import("node:fs");
  writeFileSync(join(dir, "cut.onnx"), readFileSync(join(models, "all-minilm-l6-v2", "model.onnx")).subarray(0, 5000));
  await t.rejects(readOnnxGraph(join(dir, "cut.onnx")), /truncated\?/);
});
