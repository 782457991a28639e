/**
 * The embeddings plugin: `embeddings.embed` turns texts into sentence vectors with an ONNX
 * model from the daemon's model store (all-MiniLM-L6-v2 by default); `embeddings.models` lists
 * what it can serve (the model contract behind /v1/embeddings); `embeddings.stats` shows the
 * dynamic batching at work. See docs/embeddings.md.
 */
import { definePlugin } from "@bkg/plugin-sdk";
import { readConfig } from "./config.js";
import { EmbeddingService, type EmbedRequest } from "./embedding-service.js";

let service: EmbeddingService | undefined;
const ready = (config: Record<string, unknown>): EmbeddingService => (service ??= new EmbeddingService(readConfig(config)));

definePlugin({
  name: "embeddings",
  version: "1.0.0",
  methods: {
    embed: {
      description: "Embeds texts: {input: string[], model?} -> {data: [{index, embedding}], model, dimensions, usage: {prompt_tokens}}.",
      params: {
        type: "object",
        required: ["input"],
        properties: {
          input: { type: "array", description: "Texts to embed; each is truncated to the model's token limit." },
          model: { type: "string", minLength: 1, description: "A pulled model's name; the config's defaultModel if absent." },
          encoding_format: { description: '"float" (default): arrays of numbers; "base64": float32 little-endian bytes in base64.' },
        },
        additionalProperties: false,
      },
      handler: (params: EmbedRequest, ctx) => ready(ctx.config).embed(params),
    },
    models: {
      description: "The pulled models this plugin can serve: {models: [{name, format, loaded, maxTokens, dimensions}]}.",
      handler: (_params, ctx) => ready(ctx.config).models(),
    },
    stats: {
      description: "Dynamic batching counters per loaded model (runs, items, calls, mergedRuns, largestRun) and the settings.",
      handler: (_params, ctx) => ready(ctx.config).stats(),
    },
  },
  activate: (ctx) => {
    ready(ctx.config);
  },
  deactivate: async () => {
    await service?.close();
  },
}).serve();
