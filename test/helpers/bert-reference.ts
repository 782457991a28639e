/**
 * An independent reference for sentence embeddings: all-MiniLM-L6-v2's fp32 safetensors weights
 * run through a plain TypeScript BERT encoder (no onnxruntime, no quantization), then mean pooling
 * and L2 normalisation as sentence-transformers does. Slow (a few sentences per second) and only
 * meant for tests: it checks that the plugin's int8 ONNX path computes the same thing.
 */
import { readFileSync } from "node:fs";

interface BertConfig {
  hidden_size: number;
  num_attention_heads: number;
  num_hidden_layers: number;
  layer_norm_eps: number;
}

type Tensors = Map<string, Float32Array>;

/** Reads the F32 tensors of a .safetensors file (8-byte header length, JSON header, raw data). */
function readSafetensors(file: string): Tensors {
  const buf = readFileSync(file);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString("utf8")) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const base = 8 + headerLen;
  const out: Tensors = new Map();
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__" || t.dtype !== "F32") continue;
    const [from, to] = t.data_offsets;
    // Copy: the slice may not be 4-byte aligned inside the file buffer.
    out.set(name, new Float32Array(new Uint8Array(buf.subarray(base + from, base + to)).buffer));
  }
  return out;
}

/** x [rows, inDim] times W^T ([outDim, inDim], PyTorch's Linear layout) plus b. */
function linear(x: Float32Array, rows: number, inDim: number, w: Float32Array, b: Float32Array): Float32Array {
  const outDim = b.length;
  const y = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let s = b[o];
      const wo = o * inDim;
      const xr = r * inDim;
      for (let i = 0; i < inDim; i++) s += x[xr + i] * w[wo + i];
      y[r * outDim + o] = s;
    }
  }
  return y;
}

function layerNorm(x: Float32Array, rows: number, dim: number, g: Float32Array, b: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let d = 0; d < dim; d++) mean += x[r * dim + d];
    mean /= dim;
    let v = 0;
    for (let d = 0; d < dim; d++) v += (x[r * dim + d] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / dim + eps);
    for (let d = 0; d < dim; d++) y[r * dim + d] = (x[r * dim + d] - mean) * inv * g[d] + b[d];
  }
  return y;
}

/** GELU with erf (BERT's "gelu"), erf by Abramowitz-Stegun 7.1.26 refined: error < 1.5e-7. */
function gelu(x: number): number {
  const z = x / Math.SQRT2;
  const s = Math.sign(z);
  const a = Math.abs(z);
  const t = 1 / (1 + 0.3275911 * a);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return 0.5 * x * (1 + s * erf);
}

export class BertReference {
  private readonly w: Tensors;
  private readonly cfg: BertConfig;

  constructor(weightsFile: string, configFile: string) {
    this.w = readSafetensors(weightsFile);
    this.cfg = JSON.parse(readFileSync(configFile, "utf8")) as BertConfig;
  }

  private t(name: string): Float32Array {
    const v = this.w.get(name);
    if (!v) throw new Error(`weights have no tensor ${name}`);
    return v;
  }

  /** The L2-normalised mean-pooled embedding of one token-id sequence ([CLS] ... [SEP]). */
  embed(ids: number[]): Float32Array {
    const { hidden_size: H, num_attention_heads: heads, num_hidden_layers: layers, layer_norm_eps: eps } = this.cfg;
    const n = ids.length;
    const hd = H / heads;
    let x = new Float32Array(n * H);
    const we = this.t("embeddings.word_embeddings.weight");
    const pe = this.t("embeddings.position_embeddings.weight");
    const te = this.t("embeddings.token_type_embeddings.weight");
    for (let p = 0; p < n; p++) for (let d = 0; d < H; d++) x[p * H + d] = we[ids[p] * H + d] + pe[p * H + d] + te[d];
    x = layerNorm(x, n, H, this.t("embeddings.LayerNorm.weight"), this.t("embeddings.LayerNorm.bias"), eps);
    for (let l = 0; l < layers; l++) {
      const L = (s: string) => this.t(`encoder.layer.${l}.${s}`);
      const q = linear(x, n, H, L("attention.self.query.weight"), L("attention.self.query.bias"));
      const k = linear(x, n, H, L("attention.self.key.weight"), L("attention.self.key.bias"));
      const v = linear(x, n, H, L("attention.self.value.weight"), L("attention.self.value.bias"));
      const ctx = new Float32Array(n * H);
      const scores = new Float64Array(n);
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < n; i++) {
          let max = -Infinity;
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let d = 0; d < hd; d++) s += q[i * H + h * hd + d] * k[j * H + h * hd + d];
            scores[j] = s / Math.sqrt(hd);
            max = Math.max(max, scores[j]);
          }
          let sum = 0;
          for (let j = 0; j < n; j++) sum += scores[j] = Math.exp(scores[j] - max);
          for (let j = 0; j < n; j++) {
            const p = scores[j] / sum;
            for (let d = 0; d < hd; d++) ctx[i * H + h * hd + d] += p * v[j * H + h * hd + d];
          }
        }
      }
      const attn = linear(ctx, n, H, L("attention.output.dense.weight"), L("attention.output.dense.bias"));
      for (let i = 0; i < attn.length; i++) attn[i] += x[i];
      x = layerNorm(attn, n, H, L("attention.output.LayerNorm.weight"), L("attention.output.LayerNorm.bias"), eps);
      const inter = linear(x, n, H, L("intermediate.dense.weight"), L("intermediate.dense.bias")).map(gelu);
      const out = linear(inter, n, inter.length / n, L("output.dense.weight"), L("output.dense.bias"));
      for (let i = 0; i < out.length; i++) out[i] += x[i];
      x = layerNorm(out, n, H, L("output.LayerNorm.weight"), L("output.LayerNorm.bias"), eps);
    }
    const pooled = new Float32Array(H);
    for (let p = 0; p < n; p++) for (let d = 0; d < H; d++) pooled[d] += x[p * H + d] / n;
    const norm = Math.hypot(...pooled);
    return pooled.map((v) => v / norm);
  }
}
