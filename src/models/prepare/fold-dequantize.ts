/**
 * The `onnx-fold-dequantize` preparation step: folds every DequantizeLinear whose inputs are all
 * initializers into one float32 initializer, then drops the graph inputs nothing reads or that
 * only shadow an initializer.
 *
 * Why: OpenCV Zoo's `_int8bq` face models (YuNet, SFace) store their weights block-quantized
 * (DequantizeLinear with `block_size`), which neither ONNX Runtime 1.30 ("block_size must be 0
 * for per-tensor quantization") nor tract runs; SFace also lists its weights as graph inputs,
 * which keeps ONNX Runtime from constant-folding them. The folded models compute exactly what
 * the quantized ones describe (x - zero_point) * scale, in float32, and run everywhere.
 */
import { decodeOnnx, encodeOnnx, TensorType, toNumber, type OnnxModel, type OnnxNode, type OnnxTensor } from "./onnx-model.js";

export interface FoldReport {
  /** DequantizeLinear nodes folded into float32 initializers. */
  folded: number;
  /** Graph inputs removed (unconnected or shadowing an initializer). */
  droppedInputs: number;
  /** Initializers removed because nothing reads them any more. */
  droppedInitializers: number;
}

/**
 * Folds a model file's bytes; pure (no I/O), returns new bytes. Throws an Error with a message a
 * person can act on when the file is not ONNX or uses a quantized type it cannot fold.
 */
export function foldDequantize(bytes: Uint8Array): { bytes: Uint8Array; report: FoldReport } {
  const model = decodeOnnx(bytes);
  const report = foldModel(model);
  return { bytes: encodeOnnx(model), report };
}

export function foldModel(model: OnnxModel): FoldReport {
  const graph = model.graph;
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
  const kept: OnnxNode[] = [];
  let folded = 0;
  for (const node of graph.node) {
    const constantInputs = node.input.filter((name) => name !== "");
    if (node.opType !== "DequantizeLinear" || !constantInputs.every((name) => initializers.has(name))) {
      kept.push(node);
      continue;
    }
    const [x, scale, zeroPoint] = node.input.map((name) => (name ? initializers.get(name) : undefined));
    const result = dequantize(node, x!, scale!, zeroPoint);
    initializers.set(result.name, result);
    folded++;
  }
  graph.node = kept;

  const read = new Set(kept.flatMap((n) => n.input));
  for (const o of graph.output) read.add(o.name);
  const initializersBefore = initializers.size;
  graph.initializer = [...initializers.values()].filter((t) => read.has(t.name));
  const inputsBefore = graph.input.length;
  const liveInitializers = new Set(graph.initializer.map((t) => t.name));
  graph.input = graph.input.filter((i) => read.has(i.name) && !liveInitializers.has(i.name));
  return {
    folded,
    droppedInputs: inputsBefore - graph.input.length,
    droppedInitializers: initializersBefore - graph.initializer.length,
  };
}

/** (x - zero_point) * scale per ONNX DequantizeLinear-21: per tensor, per axis, or per block along `axis`. */
function dequantize(node: OnnxNode, x: OnnxTensor, scale: OnnxTensor, zeroPoint: OnnxTensor | undefined): OnnxTensor {
  const dims = x.dims.map((d) => toNumber(d, 0));
  const xs = integers(x, node);
  const ss = floats(scale, node);
  const zs = zeroPoint ? integers(zeroPoint, node) : undefined;
  const rank = dims.length;
  const axisAttr = toNumber(node.attribute.find((a) => a.name === "axis")?.i, 1);
  const axis = rank === 0 ? 0 : (axisAttr + rank) % rank;
  const blockSize = toNumber(node.attribute.find((a) => a.name === "block_size")?.i, 0);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const axisLen = rank === 0 ? 1 : dims[axis];
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const scaleAxisLen = blockSize > 0 ? Math.ceil(axisLen / blockSize) : axisLen;

  const out = new Float32Array(xs.length);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < axisLen; k++) {
      for (let i = 0; i < inner; i++) {
        const xi = (o * axisLen + k) * inner + i;
        let si: number;
        if (ss.length === 1) si = 0;
        else if (blockSize > 0) si = (o * scaleAxisLen + Math.floor(k / blockSize)) * inner + i;
        else si = k;
        out[xi] = (xs[xi] - (zs ? zs[si] : 0)) * ss[si];
      }
    }
  }
  return {
    name: node.output[0],
    dims,
    dataType: TensorType.FLOAT,
    rawData: new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
  };
}

function integers(t: OnnxTensor, node: OnnxNode): Int32Array {
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (t.dataType === TensorType.INT8) {
    return raw ? Int32Array.from(new Int8Array(raw.buffer, raw.byteOffset, raw.byteLength)) : Int32Array.from(t.int32Data ?? []);
  }
  if (t.dataType === TensorType.UINT8) return raw ? Int32Array.from(raw) : Int32Array.from(t.int32Data ?? []);
  throw new Error(`cannot fold DequantizeLinear ${node.name || node.output[0]}: tensor ${t.name} has data type ${t.dataType} (only int8 and uint8 are supported)`);
}

function floats(t: OnnxTensor, node: OnnxNode): Float32Array {
  if (t.dataType !== TensorType.FLOAT) {
    throw new Error(`cannot fold DequantizeLinear ${node.name || node.output[0]}: scale ${t.name} has data type ${t.dataType} (only float32 is supported)`);
  }
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (!raw) return Float32Array.from(t.floatData ?? []);
  // An aligned copy: rawData may start at any byte offset (and Buffer#slice would share memory).
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}
