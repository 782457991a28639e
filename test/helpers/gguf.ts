/** Writes GGUF v3 headers for tests (github.com/ggml-org/ggml docs/gguf.md): key/values and tensor infos. */
type Value = { u32: number } | { u64: number } | { f32: number } | { str: string } | { bool: boolean } | { strings: string[] };

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const str = (s: string) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);

function value(v: Value): Buffer {
  if ("u32" in v) return Buffer.concat([u32(4), u32(v.u32)]);
  if ("u64" in v) return Buffer.concat([u32(10), u64(v.u64)]);
  if ("f32" in v) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v.f32);
    return Buffer.concat([u32(6), b]);
  }
  if ("bool" in v) return Buffer.concat([u32(7), Buffer.from([v.bool ? 1 : 0])]);
  if ("str" in v) return Buffer.concat([u32(8), str(v.str)]);
  return Buffer.concat([u32(9), u32(8), u64(v.strings.length), ...v.strings.map(str)]);
}

/** A GGUF header; tensors are [name, dims, ggml type number]. */
export function ggufHeader(kv: Record<string, Value>, tensors: [string, number[], number][]): Buffer {
  const parts = [Buffer.from("GGUF"), u32(3), u64(tensors.length), u64(Object.keys(kv).length)];
  for (const [k, v] of Object.entries(kv)) parts.push(str(k), value(v));
  for (const [name, dims, type] of tensors) parts.push(str(name), u32(dims.length), ...dims.map(u64), u32(type), u64(0));
  return Buffer.concat(parts);
}

/** A small llama-like header: 2 tensors of 64x32 (Q4_1) and 32 (F32), a chat template, context 2048. */
export function tinyLlamaHeader(): Buffer {
  return ggufHeader(
    {
      "general.architecture": { str: "llama" },
      "general.name": { str: "Tiny Test" },
      "llama.context_length": { u32: 2048 },
      "llama.embedding_length": { u32: 32 },
      "llama.block_count": { u32: 1 },
      "general.file_type": { u32: 3 },
      "tokenizer.ggml.tokens": { strings: ["<s>", "</s>", "hello"] },
      "tokenizer.chat_template": { str: "{% for m in messages %}{{ m.content }}{% endfor %}" },
    },
    [
      ["token_embd.weight", [64, 32], 3],
      ["output_norm.weight", [32], 0],
    ],
  );
}
