/**
 * Reading and writing ONNX model files (protobuf, schemas/onnx.proto vendored from onnx) with
 * protobufjs. Only the plain-object shapes the preparation steps touch are typed here.
 */
import protobuf from "protobufjs";
import { packagePath } from "../../package-root.js";

export const ONNX_PROTO_FILE = packagePath("schemas", "onnx.proto");

/** TensorProto.DataType values the preparation steps read or write. */
export const TensorType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;

export interface OnnxTensor {
  name: string;
  dims: Array<number | { toNumber(): number }>;
  dataType: number;
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
}
export interface OnnxAttribute {
  name: string;
  i?: number | { toNumber(): number };
  type?: number;
}
export interface OnnxNode {
  name?: string;
  opType: string;
  input: string[];
  output: string[];
  attribute: OnnxAttribute[];
}
export interface OnnxValueInfo {
  name: string;
}
export interface OnnxGraph {
  node: OnnxNode[];
  initializer: OnnxTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
}
export interface OnnxModel {
  graph: OnnxGraph;
  irVersion?: unknown;
  opsetImport?: unknown[];
}

let modelType: protobuf.Type | undefined;
function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.loadSync(ONNX_PROTO_FILE).lookupType("onnx.ModelProto");
  return modelType;
}

/** Decodes an ONNX file; throws an Error naming the problem when the bytes are not an ONNX model. */
export function decodeOnnx(bytes: Uint8Array): OnnxModel {
  let decoded: protobuf.Message;
  try {
    decoded = onnxModelType().decode(bytes);
  } catch (err) {
    throw new Error(`not an ONNX model (protobuf decoding failed: ${(err as Error).message})`);
  }
  const model = decoded as unknown as OnnxModel;
  if (!model.graph || !Array.isArray(model.graph.node) || model.graph.node.length === 0) {
    throw new Error("not an ONNX model (no graph with nodes)");
  }
  return model;
}

export function encodeOnnx(model: OnnxModel): Uint8Array {
  const type = onnxModelType();
  return type.encode(type.fromObject(model as unknown as Record<string, unknown>)).finish();
}

export const toNumber = (v: number | { toNumber(): number } | undefined, fallback: number): number => (v === undefined || v === null ? fallback : typeof v === "number" ? v : v.toNumber());
