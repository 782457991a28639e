/**
 * Reads a GGUF file's header (github.com/ggml-org/ggml docs/gguf.md): magic, version, the
 * metadata key/values and the tensor infos, without reading any tensor data. Arrays (the
 * tokenizer's 49k tokens) are skipped, not kept. Enough for model.json metadata: architecture,
 * parameter count, quantization, context length, chat template present.
 */
import { open, type FileHandle } from "node:fs/promises";

export interface GgufHeader {
  version: number;
  tensorCount: number;
  /** Scalar and string values by key; arrays are given as { arrayOf, length }. */
  kv: Record<string, unknown>;
  /** Element count of every tensor together. */
  parameters: number;
  /** How many tensors of each ggml type (F32, Q4_1, ...). */
  tensorTypes: Record<string, number>;
}

/** ggml tensor types, by number (ggml.h enum ggml_type). */
const GGML_TYPES: Record<number, string> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  6: "Q5_0",
  7: "Q5_1",
  8: "Q8_0",
  9: "Q8_1",
  10: "Q2_K",
  11: "Q3_K",
  12: "Q4_K",
  13: "Q5_K",
  14: "Q6_K",
  15: "Q8_K",
  16: "IQ2_XXS",
  17: "IQ2_XS",
  18: "IQ3_XXS",
  19: "IQ1_S",
  20: "IQ4_NL",
  21: "IQ3_S",
  22: "IQ2_S",
  23: "IQ4_XS",
  24: "I8",
  25: "I16",
  26: "I32",
  27: "I64",
  28: "F64",
  29: "IQ1_M",
  30: "BF16",
  34: "TQ1_0",
  35: "TQ2_0",
};

/** general.file_type (llama.h enum llama_ftype): the quantization a file was made with. */
export const FILE_TYPES: Record<number, string> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  7: "Q8_0",
  8: "Q5_0",
  9: "Q5_1",
  10: "Q2_K",
  11: "Q3_K_S",
  12: "Q3_K_M",
  13: "Q3_K_L",
  14: "Q4_K_S",
  15: "Q4_K_M",
  16: "Q5_K_S",
  17: "Q5_K_M",
  18: "Q6_K",
  19: "IQ2_XXS",
  20: "IQ2_XS",
  21: "Q2_K_S",
  22: "IQ3_XS",
  23: "IQ3_XXS",
  24: "IQ1_S",
  25: "IQ4_NL",
  26: "IQ3_S",
  27: "IQ3_M",
  28: "IQ2_S",
  29: "IQ2_M",
  30: "IQ4_XS",
  31: "IQ1_M",
  32: "BF16",
  36: "TQ1_0",
  37: "TQ2_0",
};

/** A buffered sequential reader over a file handle. */
class Reader {
  private buf = Buffer.alloc(0);
  private pos = 0;
  private fileOffset = 0;
  constructor(private readonly fh: FileHandle) {}

  private async need(n: number): Promise<void> {
    if (this.buf.length - this.pos >= n) return;
    const rest = this.buf.subarray(this.pos);
    const chunk = Buffer.alloc(Math.max(n - rest.length, 1 << 20));
    const { bytesRead } = await this.fh.read(chunk, 0, chunk.length, this.fileOffset);
    this.fileOffset += bytesRead;
    this.buf = Buffer.concat([rest, chunk.subarray(0, bytesRead)]);
    this.pos = 0;
    if (this.buf.length < n) throw new Error("the file ends inside its GGUF header (truncated?)");
  }
  async u8() {
    await this.need(1);
    return this.buf.readUInt8(this.pos++);
  }
  async u32() {
    await this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  async i32() {
    await this.need(4);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  async u64() {
    await this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return safe(v);
  }
  async i64() {
    await this.need(8);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return Number(v);
  }
  async f32() {
    await this.need(4);
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }
  async f64() {
    await this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  async bytes(n: number) {
    await this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  async skip(n: number) {
    await this.need(n);
    this.pos += n;
  }
  /** Skips `count` strings, awaiting only when the buffer runs out (the tokenizer holds ~50k). */
  async skipStrings(count: number) {
    for (let i = 0; i < count; i++) {
      if (this.buf.length - this.pos < 8) await this.need(8);
      const n = safe(this.buf.readBigUInt64LE(this.pos));
      this.pos += 8;
      if (this.buf.length - this.pos < n) await this.need(n);
      this.pos += n;
    }
  }
  async str() {
    const n = await this.u64();
    if (n > 64 * 1024 * 1024) throw new Error(`a GGUF string of ${n} bytes (corrupt header?)`);
    return (await this.bytes(n)).toString("utf8");
  }
}

function safe(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`a GGUF count of ${v} (corrupt header?)`);
  return Number(v);
}

const SCALAR_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

async function readValue(r: Reader, type: number): Promise<unknown> {
  switch (type) {
    case 0:
      return r.u8();
    case 1:
      return ((await r.u8()) << 24) >> 24;
    case 2:
      return (await r.bytes(2)).readUInt16LE(0);
    case 3:
      return (await r.bytes(2)).readInt16LE(0);
    case 4:
      return r.u32();
    case 5:
      return r.i32();
    case 6:
      return r.f32();
    case 7:
      return (await r.u8()) !== 0;
    case 8:
      return r.str();
    case 9: {
      const itemType = await r.u32();
      const length = await r.u64();
      if (itemType === 8) await r.skipStrings(length);
      else if (SCALAR_SIZE[itemType] !== undefined) await r.skip(SCALAR_SIZE[itemType] * length);
      else throw new Error(`a GGUF array of type ${itemType} (unsupported)`);
      return { arrayOf: itemType, length };
    }
    case 10:
      return r.u64();
    case 11:
      return r.i64();
    case 12:
      return r.f64();
    default:
      throw new Error(`unknown GGUF value type ${type} (corrupt header?)`);
  }
}

/** Reads the header of a GGUF file. Rejects with a message naming what is wrong for a file that is not GGUF or is cut short. */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  const fh = await open(path, "r");
  try {
    const r = new Reader(fh);
    const magic = (await r.bytes(4)).toString("latin1");
    if (magic !== "GGUF") throw new Error(`not a GGUF file (starts with ${JSON.stringify(magic)}, not "GGUF")`);
    const version = await r.u32();
    if (version < 2 || version > 3) throw new Error(`GGUF version ${version} is not supported (2 and 3 are)`);
    const tensorCount = await r.u64();
    const kvCount = await r.u64();
    const kv: Record<string, unknown> = {};
    for (let i = 0; i < kvCount; i++) {
      const key = await r.str();
      kv[key] = await readValue(r, await r.u32());
    }
    let parameters = 0;
    const tensorTypes: Record<string, number> = {};
    for (let i = 0; i < tensorCount; i++) {
      await r.str();
      const dims = await r.u32();
      if (dims > 8) throw new Error(`a tensor with ${dims} dimensions (corrupt header?)`);
      let elements = 1;
      for (let d = 0; d < dims; d++) elements *= await r.u64();
      const type = GGML_TYPES[await r.u32()] ?? "unknown";
      await r.u64();
      parameters += elements;
      tensorTypes[type] = (tensorTypes[type] ?? 0) + 1;
    }
    return { version, tensorCount, kv, parameters, tensorTypes };
  } finally {
    await fh.close();
  }
}

/** model.json metadata from a GGUF header. */
export function ggufMetadata(h: GgufHeader): Record<string, unknown> {
  const arch = typeof h.kv["general.architecture"] === "string" ? (h.kv["general.architecture"] as string) : undefined;
  const num = (key: string) => (typeof h.kv[key] === "number" ? (h.kv[key] as number) : undefined);
  const fileType = num("general.file_type");
  const commonest = Object.entries(h.tensorTypes)
    .filter(([t]) => t !== "F32")
    .sort((a, b) => b[1] - a[1])[0]?.[0];
  const out: Record<string, unknown> = {
    architecture: arch,
    title: h.kv["general.name"],
    parameters: num("general.parameter_count") ?? h.parameters,
    quantization: fileType !== undefined ? (FILE_TYPES[fileType] ?? `file_type ${fileType}`) : commonest,
    contextLength: arch ? num(`${arch}.context_length`) : undefined,
    embeddingLength: arch ? num(`${arch}.embedding_length`) : undefined,
    layers: arch ? num(`${arch}.block_count`) : undefined,
    chatTemplate: typeof h.kv["tokenizer.chat_template"] === "string" && (h.kv["tokenizer.chat_template"] as string).length > 0,
    ggufVersion: h.version,
    tensors: h.tensorCount,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}
