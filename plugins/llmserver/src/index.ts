/**
 * LLMServer: chat, completion and tokenization with GGUF models from the daemon's model store,
 * run on the CPU by llama.cpp (node-llama-cpp). It implements bkg's model contract
 * (`llmserver.models`), so the daemon's OpenAI-compatible /v1 routes find it by model name.
 * docs/openai.md is the reference.
 */
import { definePlugin } from "@bkg/plugin-sdk";
import { chat, chatParamsSchema, type ChatParams } from "./chat.js";
import { complete, completeParamsSchema, type CompleteParams } from "./complete.js";
import { listModels } from "./model-files.js";
import { ModelPool } from "./model-pool.js";
import { readSettings, type Settings } from "./settings.js";

let settings: Settings | undefined;
let pool: ModelPool | undefined;

/** The settings and pool, made at activation (before any call is served). */
function state(): { settings: Settings; pool: ModelPool } {
  if (!settings || !pool) throw new Error("llmserver was called before it was activated");
  return { settings, pool };
}

definePlugin({
  name: "llmserver",
  version: "0.1.0",
  activate: (ctx) => {
    settings = readSettings(ctx.config);
    pool = new ModelPool(settings);
    ctx.log("info", "llmserver ready", { ...settings });
  },
  deactivate: async () => {
    await pool?.dispose();
  },
  methods: {
    chat: {
      description: "Answers OpenAI-style chat messages with a GGUF model; streams {delta} chunks when asked to stream.",
      params: chatParamsSchema,
      streaming: true,
      handler: (p: ChatParams, ctx) => chat(state().pool, state().settings, p, ctx),
    },
    complete: {
      description: "Continues a text prompt with a GGUF model; streams {delta} chunks when asked to stream.",
      params: completeParamsSchema,
      streaming: true,
      handler: (p: CompleteParams, ctx) => complete(state().pool, state().settings, p, ctx),
    },
    tokenize: {
      description: "The model's tokens for a text: {tokens, count}.",
      params: { type: "object", required: ["text"], properties: { text: { type: "string" }, model: { type: "string", minLength: 1 } } },
      handler: async (p: { text: string; model?: string }, ctx) => {
        const { pool, settings } = state();
        const lease = await pool.lease(p.model ?? settings.defaultModel, ctx.signal, ctx.deadline);
        try {
          const tokens = lease.model.tokenize(p.text);
          return { model: lease.name, tokens: [...tokens].map(Number), count: tokens.length };
        } finally {
          lease.release();
        }
      },
    },
    models: {
      description: "The model contract: the GGUF models in the store this plugin serves, and whether each is loaded.",
      handler: () => {
        const { pool } = state();
        return {
          models: listModels().map((m) => ({
            name: m.name,
            format: "gguf",
            loaded: pool.isLoaded(m.name),
            ...(pool.isLoaded(m.name) ? { sequences: pool.sequences(m.name) } : {}),
            methods: ["chat", "complete", "tokenize"].map((m) => `${process.env.BKG_PLUGIN_NAME ?? "llmserver"}.${m}`),
            ...(m.record.size === undefined ? {} : { size: m.record.size }),
            ...(m.record.licence === undefined ? {} : { licence: m.record.licence }),
            ...(m.record.metadata === undefined ? {} : { metadata: m.record.metadata }),
          })),
        };
      },
    },
  },
}).serve();
