/**
 * Reads an ONNX model's graph inputs and outputs (name, element type, shape) by walking the
 * protobuf wire format of ModelProto (onnx/onnx.proto): only the few fields needed are decoded;
 * everything else, the weights included, is skipped by its length.
 */
import { readFile } from "node:fs/promises";

export interface OnnxTensorInfo {
  name: string;
  type: string;
  /** A number per fixed dimension, a string per symbolic one ("batch"), null when unknown. */
  shape: (number | string | null)[];
}

export interface OnnxGraphInfo {
  inputs: OnnxTensorInfo[];
  outputs: OnnxTensorInfo[];
  opset?: number;
  producer?: string;
}

const ELEM_TYPES: Record<number, string> = {
  1: "float32",
  2: "uint8",
  3: "int8",
  4: "uint16",
  5: "int16",
  6: "int32",
  7: "int64",
  8: "string",
  9: "bool",
  10: "float16",
  11: "float64",
  12: "uint32",
  13: "uint64",
  16: "bfloat16",
};

type Field = { no: number; wire: number; value: number | Buffer };

/** The fields of one message, in order; length-delimited ones as subarrays (no copy). */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error("the file ends inside a field (truncated?)");
      const b = buf[pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 1) (pos += 8), out.push({ no, wire, value: 0 });
    else if (wire === 5) (pos += 4), out.push({ no, wire, value: 0 });
    else if (wire === 2) {
      const len = varint();
      if (pos + len > buf.length) throw new Error("a field runs past the end of the file (truncated?)");
      out.push({ no, wire, value: buf.subarray(pos, pos + len) });
      pos += len;
    } else throw new Error(`protobuf wire type ${wire} at byte ${pos} (not an ONNX model?)`);
  }
  return out;
}

const sub = (fs: Field[], no: number) => fs.filter((f) => f.no === no && Buffer.isBuffer(f.value)).map((f) => f.value as Buffer);
const str = (fs: Field[], no: number) => sub(fs, no)[0]?.toString("utf8");

function valueInfo(buf: Buffer): OnnxTensorInfo {
  const f = fields(buf);
  const type = sub(f, 2)[0];
  const tensor = type ? sub(fields(type), 1)[0] : undefined;
  const tf = tensor ? fields(tensor) : [];
  const elem = tf.find((x) => x.no === 1 && x.wire === 0)?.value as number | undefined;
  const shape = sub(tf, 2)[0];
  const dims = shape
    ? sub(fields(shape), 1).map((d) => {
        const df = fields(d);
        const v = df.find((x) => x.no === 1 && x.wire === 0);
        return v ? (v.value as number) : (str(df, 2) ?? null);
      })
    : [];
  return { name: str(f, 1) ?? "", type: elem !== undefined ? (ELEM_TYPES[elem] ?? `type ${elem}`) : "unknown", shape: dims };
}

/** Reads the graph's inputs (weights listed as inputs left out) and outputs. Rejects for a file that is not ONNX. */
export async function readOnnxGraph(path: string): Promise<OnnxGraphInfo> {
  const model = fields(await readFile(path));
  const graph = sub(model, 7)[0];
  if (!graph) throw new Error("no graph in the file (not an ONNX model?)");
  const g = fields(graph);
  const weights = new Set(sub(g, 5).map((t) => str(fields(t), 8)));
  const opset = sub(model, 8)
    .map((o) => fields(o))
    .filter((o) => !str(o, 1))
    .map((o) => o.find((x) => x.no === 2 && x.wire === 0)?.value as number | undefined)[0];
  return {
    inputs: sub(g, 11)
      .map(valueInfo)
      .filter((i) => !weights.has(i.name)),
    outputs: sub(g, 12).map(valueInfo),
    ...(opset !== undefined ? { opset } : {}),
    ...(str(model, 2) ? { producer: str(model, 2) } : {}),
  };
}
