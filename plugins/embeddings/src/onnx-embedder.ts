/**
 * One ONNX sentence-embedding model: token ids in, mean-pooled L2-normalised vectors out.
 * Also used in-process by the benchmark as the baseline the plugin is measured against.
 */
import ort from "onnxruntime-node";

export interface EmbedderOptions {
  /** onnxruntime intra-op threads. */
  threads: number;
}

export class OnnxEmbedder {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly wantsTokenTypes: boolean,
    /** Size of one embedding, read from the model's output. */
    readonly dimensions: number,
  ) {}

  /**
   * Loads the model file. Severity 3 (errors only): onnxruntime's warnings would otherwise go
   * to the process's stderr on every load. Throws onnxruntime's error for a file that is not a
   * model with `input_ids`, `attention_mask` and a [batch, tokens, hidden] output.
   */
  static async load(modelPath: string, opts: EmbedderOptions): Promise<OnnxEmbedder> {
    const session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: opts.threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
    });
    for (const input of ["input_ids", "attention_mask"]) {
      if (!session.inputNames.includes(input)) throw new Error(`${modelPath} has no "${input}" input (inputs: ${session.inputNames.join(", ")})`);
    }
    const embedder = new OnnxEmbedder(session, session.inputNames.includes("token_type_ids"), 0);
    // The hidden size is read by running the model once, which also warms it up.
    const probe = await embedder.runRaw([[101, 102]]);
    return new OnnxEmbedder(session, embedder.wantsTokenTypes, probe.dims[2]);
  }

  /**
   * Embeds a batch of token-id sequences; returns one vector per sequence, in order. Sequences
   * must be non-empty. The batch is run in groups of similar length (see lengthGroups), each
   * padded to its longest: padding is computed like real tokens, and one 30-token sentence
   * in a run of 20-token ones would otherwise cost every row a third more.
   */
  async embed(batch: number[][]): Promise<Float32Array[]> {
    const out = new Array<Float32Array>(batch.length);
    for (const group of lengthGroups(batch)) {
      const seqs = group.map((i) => batch[i]);
      const hidden = await this.runRaw(seqs);
      meanPoolNormalise(hidden.data as Float32Array, seqs, hidden.dims[1], hidden.dims[2]).forEach((v, k) => (out[group[k]] = v));
    }
    return out;
  }

  private async runRaw(batch: number[][]): Promise<ort.Tensor> {
    const rows = batch.length;
    const cols = Math.max(...batch.map((ids) => ids.length));
    const ids = new BigInt64Array(rows * cols);
    const mask = new BigInt64Array(rows * cols);
    batch.forEach((seq, r) => {
      for (let c = 0; c < seq.length; c++) {
        ids[r * cols + c] = BigInt(seq[c]);
        mask[r * cols + c] = 1n;
      }
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", ids, [rows, cols]),
      attention_mask: new ort.Tensor("int64", mask, [rows, cols]),
    };
    if (this.wantsTokenTypes) feeds.token_type_ids = new ort.Tensor("int64", new BigInt64Array(rows * cols), [rows, cols]);
    const result = await this.session.run(feeds);
    const out = result[this.session.outputNames[0]];
    if (out.dims.length !== 3) throw new Error(`model output ${this.session.outputNames[0]} has dims [${out.dims.join(", ")}], expected [batch, tokens, hidden]`);
    return out;
  }

  /** Frees the native session. Calling it twice is harmless. */
  async release(): Promise<void> {
    await this.session.release().catch(() => undefined);
  }
}

/**
 * What one inference run costs beyond its tokens, in token-equivalents of CPU time. Measured with
 * this model on 1 thread (process CPU time, so load does not skew it): a run of 1 x 3 tokens
 * costs ~6.5 ms, 1 x 20 ~12 ms, 16 x 20 ~128 ms, i.e. ~0.35 ms per token and ~6 ms per run.
 */
export const RUN_OVERHEAD_TOKENS = 18;

/**
 * Indices of `batch` grouped for inference: sorted by length, then cut where the total cost
 * sum(RUN_OVERHEAD_TOKENS + rows x longest) is least (exact, by dynamic programming over the
 * sorted lengths). Each group is padded to its longest, and padding is computed like real
 * tokens, so mixed lengths want several runs; but every run has a fixed cost, so a batch of a
 * dozen similar sentences wants one. The old rule (cut at +20% length) split a typical batch
 * of 11 single-sentence calls into 3 runs and paid the fixed cost 3 times.
 */
export function lengthGroups(batch: readonly number[][]): number[][] {
  const order = batch.map((_, i) => i).sort((a, b) => batch[a].length - batch[b].length);
  const n = order.length;
  const len = (k: number) => batch[order[k]].length;
  // best[j]: least cost of the first j sorted sequences; cut[j]: where its last group starts.
  const best = new Float64Array(n + 1);
  const cut = new Int32Array(n + 1);
  for (let j = 1; j <= n; j++) {
    best[j] = Infinity;
    for (let i = j - 1; i >= 0; i--) {
      const cost = best[i] + RUN_OVERHEAD_TOKENS + (j - i) * len(j - 1);
      if (cost < best[j]) {
        best[j] = cost;
        cut[j] = i;
      }
    }
  }
  const groups: number[][] = [];
  for (let j = n; j > 0; j = cut[j]) groups.unshift(order.slice(cut[j], j));
  return groups;
}

/**
 * Mean of each sequence's token vectors over its real tokens (the attention mask: padding never
 * counts), then scaled to unit length, as sentence-transformers' Pooling + Normalize do.
 */
export function meanPoolNormalise(hidden: Float32Array, batch: number[][], cols: number, dim: number): Float32Array[] {
  return batch.map((seq, r) => {
    const v = new Float32Array(dim);
    for (let c = 0; c < seq.length; c++) {
      const base = (r * cols + c) * dim;
      for (let d = 0; d < dim; d++) v[d] += hidden[base + d];
    }
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      v[d] /= seq.length;
      norm += v[d] * v[d];
    }
    norm = Math.sqrt(norm) || 1;
    for (let d = 0; d < dim; d++) v[d] /= norm;
    return v;
  });
}
