/** A minimal ONNX ModelProto, written with the protobuf wire format: one graph with given inputs and outputs. */
const varint = (n: number): Buffer => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
};
const field = (no: number, body: Buffer | string): Buffer => {
  const b = typeof body === "string" ? Buffer.from(body) : body;
  return Buffer.concat([varint(no * 8 + 2), varint(b.length), b]);
};
const num = (no: number, n: number): Buffer => Buffer.concat([varint(no * 8), varint(n)]);

/** A tensor value: name, ONNX element type (1 float, 7 int64), dims (numbers or symbolic names). */
function valueInfo(name: string, elem: number, dims: (number | string)[]): Buffer {
  const shape = Buffer.concat(dims.map((d) => field(1, typeof d === "number" ? num(1, d) : field(2, d))));
  return Buffer.concat([field(1, name), field(2, field(1, Buffer.concat([num(1, elem), field(2, shape)])))]);
}

export function tinyOnnx(inputs: [string, number, (number | string)[]][], outputs: [string, number, (number | string)[]][], padding = 0): Buffer {
  const graph = Buffer.concat([
    field(2, "tiny"),
    // An initializer whose raw_data (field 9) is skipped by its length; named like no input.
    field(5, Buffer.concat([field(8, "weight"), field(9, Buffer.alloc(padding))])),
    ...inputs.map((i) => field(11, valueInfo(...i))),
    ...outputs.map((o) => field(12, valueInfo(...o))),
  ]);
  return Buffer.concat([num(1, 8), field(2, "bkg-test"), field(7, graph), field(8, num(2, 17))]);
}
