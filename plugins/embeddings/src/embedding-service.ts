/**
 * What the plugin's methods do, apart from the protocol: checks a request, finds (and loads
 * once) the model, tokenizes, and hands the token ids to that model's dynamic batcher.
 */
import { BkgError, ErrorCodes } from "@bkg/plugin-sdk";
import type { EmbeddingsConfig } from "./config.js";
import { DynamicBatcher, type BatcherStats } from "./dynamic-batcher.js";
import { listTextEmbedders, resolveModel, type TextEmbedderRecord } from "./model-store.js";
import { OnnxEmbedder } from "./onnx-embedder.js";
import { TextTokenizer } from "./tokenize.js";

export interface EmbedRequest {
  input: string[];
  model?: string;
  /** "float" (default): arrays of numbers; "base64": each vector's float32 little-endian bytes in base64 (OpenAI's encoding_format). */
  encoding_format?: "float" | "base64";
}

export interface EmbedResponse {
  data: { index: number; embedding: number[] | string }[];
  model: string;
  dimensions: number;
  /** prompt_tokens: tokens the model read ([CLS] and [SEP] included, after truncation). */
  usage: { prompt_tokens: number; total_tokens: number };
}

/**
 * Numbers rounded to 9 decimal places (error < 5e-10, far below float32's own on values of
 * magnitude ~0.05): JSON then carries ~12 characters per number instead of ~20, which is most
 * of what a call costs on the bus beyond inference.
 */
function toJsonFloats(v: Float32Array): number[] {
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Math.round(v[i] * 1e9) / 1e9;
  return out;
}

/** The vector's float32 little-endian bytes in base64 (about 5.3 characters per number). */
function toBase64(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
}

interface LoadedModel {
  record: TextEmbedderRecord;
  tokenizer: TextTokenizer;
  embedder: OnnxEmbedder;
  batcher: DynamicBatcher<number[], Float32Array>;
}

export class EmbeddingService {
  private readonly loaded = new Map<string, Promise<LoadedModel>>();

  constructor(private readonly config: EmbeddingsConfig) {}

  /** Embeds every input; throws InvalidParams for a bad request, naming the input at fault. */
  async embed(req: EmbedRequest): Promise<EmbedResponse> {
    this.check(req);
    const model = await this.model(req.model ?? this.config.defaultModel);
    const ids = req.input.map((text) => model.tokenizer.encode(text).ids);
    const vectors = await model.batcher.submit(ids);
    const promptTokens = ids.reduce((n, seq) => n + seq.length, 0);
    return {
      data: vectors.map((v, index) => ({ index, embedding: req.encoding_format === "base64" ? toBase64(v) : toJsonFloats(v) })),
      model: model.record.name,
      dimensions: model.embedder.dimensions,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    };
  }

  /** The pulled models this plugin can serve, and whether each is loaded in memory. */
  async models(): Promise<{ models: { name: string; format: "onnx"; loaded: boolean; maxTokens: number; dimensions?: number }[] }> {
    const records = listTextEmbedders();
    const models = await Promise.all(
      records.map(async (r) => {
        const dims = await this.loadedDimensions(r.name);
        return { name: r.name, format: "onnx" as const, loaded: dims !== undefined, maxTokens: r.maxTokens, dimensions: dims ?? r.dimensions };
      }),
    );
    return { models };
  }

  /** Batching counters per loaded model, with the settings they ran under. */
  async stats(): Promise<{ config: EmbeddingsConfig; models: Record<string, BatcherStats> }> {
    const models: Record<string, BatcherStats> = {};
    for (const [name, p] of this.loaded) {
      const m = await p.catch(() => undefined);
      if (m) models[name] = m.batcher.stats();
    }
    return { config: this.config, models };
  }

  /** Frees every loaded model. */
  async close(): Promise<void> {
    const all = [...this.loaded.values()];
    this.loaded.clear();
    for (const p of all) await (await p.catch(() => undefined))?.embedder.release();
  }

  private check(req: EmbedRequest): void {
    const { input } = req;
    if (req.encoding_format !== undefined && req.encoding_format !== "float" && req.encoding_format !== "base64") {
      throw new BkgError(ErrorCodes.InvalidParams, `encoding_format must be "float" or "base64", got ${JSON.stringify(req.encoding_format)}`, { reason: "bad_encoding_format" });
    }
    if (!Array.isArray(input) || input.length === 0) {
      throw new BkgError(ErrorCodes.InvalidParams, 'input must be a non-empty array of strings, e.g. {"input": ["some text"]}', { reason: "empty_input" });
    }
    if (input.length > this.config.maxInputs) {
      throw new BkgError(ErrorCodes.InvalidParams, `input has ${input.length} texts; at most ${this.config.maxInputs} per call (config maxInputs): split the request`, {
        reason: "too_many_inputs",
        limit: this.config.maxInputs,
      });
    }
    input.forEach((text, i) => {
      if (typeof text !== "string") {
        throw new BkgError(ErrorCodes.InvalidParams, `input[${i}] is ${text === null ? "null" : Array.isArray(text) ? "an array" : `a ${typeof text}`}; every input must be a string`, {
          reason: "not_a_string",
          index: i,
        });
      }
      if (text.trim() === "") throw new BkgError(ErrorCodes.InvalidParams, `input[${i}] is empty; every input must hold some text`, { reason: "empty_text", index: i });
    });
  }

  private async loadedDimensions(name: string): Promise<number | undefined> {
    const p = this.loaded.get(name);
    if (!p) return undefined;
    return (await p.catch(() => undefined))?.embedder.dimensions;
  }

  /** The loaded model, loading it on first use; a failed load is forgotten so the next call retries. */
  private model(name: string): Promise<LoadedModel> {
    let p = this.loaded.get(name);
    if (!p) {
      p = this.load(name);
      this.loaded.set(name, p);
      p.catch(() => this.loaded.delete(name));
    }
    return p;
  }

  private async load(name: string): Promise<LoadedModel> {
    const record = resolveModel(name);
    const tokenizer = new TextTokenizer(record.tokenizerPath, record.maxTokens);
    let embedder: OnnxEmbedder;
    try {
      embedder = await OnnxEmbedder.load(record.modelPath, { threads: this.config.threads });
    } catch (e) {
      throw new BkgError(ErrorCodes.PluginError, `model "${name}" could not be loaded from ${record.modelPath}: ${(e as Error).message}`, { reason: "model_load_failed", model: name });
    }
    if (record.dimensions !== undefined && record.dimensions !== embedder.dimensions) {
      await embedder.release();
      throw new BkgError(ErrorCodes.PluginError, `model "${name}": model.json says ${record.dimensions} dimensions but the model outputs ${embedder.dimensions}`, {
        reason: "model_mismatch",
        model: name,
      });
    }
    const batcher = new DynamicBatcher<number[], Float32Array>((batch) => embedder.embed(batch), { maxBatch: this.config.maxBatch, maxWaitMs: this.config.maxWaitMs });
    return { record, tokenizer, embedder, batcher };
  }
}
