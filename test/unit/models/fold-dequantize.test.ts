/**
 * The fold-dequantize preparation step on the real OpenCV Zoo files (fetched into
 * ~/.cache/bkg/faces): every block-quantized DequantizeLinear becomes a float32 initializer with
 * exactly (q - zero_point) * scale, unconnected inputs go, ONNX Runtime loads and runs the result.
 */
import t from "tap";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { foldDequantize } from "../../../src/models/prepare/fold-dequantize.js";
import { foldDequantizeStep, foldedName } from "../../../src/models/prepare/fold-dequantize-step.js";
import { decodeOnnx, toNumber, type OnnxTensor } from "../../../src/models/prepare/onnx-model.js";
import { facePhoto } from "../../helpers/faces.js";

const yunetFile = facePhoto("face_detection_yunet_2023mar_int8bq.onnx");
const sfaceFile = facePhoto("face_recognition_sface_2021dec_int8bq.onnx");
const floatsOf = (t: OnnxTensor) => {
  const raw = Uint8Array.from(t.rawData!);
  return new Float32Array(raw.buffer, 0, raw.byteLength / 4);
};

t.test("YuNet: 64 DequantizeLinear folded, values exact", async (t) => {
  const original = decodeOnnx(readFileSync(yunetFile));
  const { bytes, report } = foldDequantize(readFileSync(yunetFile));
  t.equal(report.folded, 64);
  const folded = decodeOnnx(bytes);
  t.equal(folded.graph.node.filter((n) => n.opType === "DequantizeLinear").length, 0, "no DequantizeLinear left");
  t.same(
    folded.graph.input.map((i) => i.name),
    ["input"],
  );

  // Check one node by hand: block_size along axis 1.
  const node = original.graph.node.find((n) => n.opType === "DequantizeLinear" && n.attribute.some((a) => a.name === "block_size" && toNumber(a.i, 0) === 9))!;
  const init = new Map(original.graph.initializer.map((x) => [x.name, x]));
  const [q, scale, zero] = node.input.map((n) => init.get(n)!);
  const qv = Int8Array.from(q.rawData!);
  const sv = floatsOf(scale);
  const zv = Int8Array.from(zero.rawData!);
  const result = folded.graph.initializer.find((x) => x.name === node.output[0])!;
  const values = floatsOf(result);
  const [rows, cols] = q.dims.map((d) => toNumber(d, 0));
  t.equal(values.length, rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const s = r * Math.ceil(cols / 9) + Math.floor(c / 9);
      if (Math.abs(values[i] - (qv[i] - zv[s]) * sv[s]) > 1e-6) {
        t.fail(`value [${r}, ${c}] = ${values[i]}, expected ${(qv[i] - zv[s]) * sv[s]}`);
        return;
      }
    }
  }
  t.pass(`${rows}x${cols} values equal (q - zero_point) * scale`);
});

t.test("the step folds both files in a worker; ONNX Runtime runs them", async (t) => {
  const work = mkdtempSync(join(tmpdir(), "bkg-fold-"));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const out = await foldDequantizeStep({ files: { detector: yunetFile, recognizer: sfaceFile }, workDir: work });
  t.same(out, { detector: join(work, "face_detection_yunet_2023mar.f32.onnx"), recognizer: join(work, "face_recognition_sface_2021dec.f32.onnx") });
  const sface = await ort.InferenceSession.create(out.recognizer, { logSeverityLevel: 3, intraOpNumThreads: 1 });
  t.same(sface.inputNames, ["data"], "the weights listed as graph inputs are gone");
  const face = new Float32Array(3 * 112 * 112).map((_, i) => (i * 37) % 255);
  const r = await sface.run({ data: new ort.Tensor("float32", face, [1, 3, 112, 112]) });
  const v = r[sface.outputNames[0]].data as Float32Array;
  t.equal(v.length, 128);
  t.ok(v.every(Number.isFinite) && v.some((x) => x !== 0), "finite, non-zero features");
  await sface.release();
  const yunet = await ort.InferenceSession.create(out.detector, { logSeverityLevel: 3, intraOpNumThreads: 1 });
  t.equal(yunet.outputNames.length, 12);
  await yunet.release();
  t.equal(foldedName("/x/model_int8bq.onnx"), "model.f32.onnx");
});

t.test("bad input: a file that is not ONNX names the problem", async (t) => {
  t.throws(() => foldDequantize(Buffer.from("definitely not protobuf \xff\xff\xff")), /not an ONNX model/);
  const work = mkdtempSync(join(tmpdir(), "bkg-fold-"));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const bad = join(work, "bad_int8bq.onnx");
  writeFileSync(bad, "garbage");
  await t.rejects(foldDequantizeStep({ files: { detector: bad }, workDir: work }), /cannot prepare bad_int8bq\.onnx: not an ONNX model/);
  const ac = new AbortController();
  ac.abort();
  await t.rejects(foldDequantizeStep({ files: { detector: yunetFile }, workDir: work, signal: ac.signal }), /cancelled/);
});
