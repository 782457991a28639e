#!/usr/bin/env node
// The TypeScript SDK's conformance plugin (plugin-sdk/conformance/CONTRACT.md), written with
// @bkg/plugin-sdk exactly as a plugin author would.
import { BkgError, ErrorCodes, definePlugin } from "@bkg/plugin-sdk";

const cancelledTags = new Set();

const wait = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

definePlugin({
  name: "conformance",
  version: "1.0.0",
  methods: {
    echo: { handler: (params) => params },
    reverse: {
      params: { type: "object", required: ["text"], properties: { text: { type: "string" } } },
      handler: ({ text }) => [...text].reverse().join(""),
    },
    fail: {
      handler: ({ message, code, data }) => {
        throw new BkgError(code ?? ErrorCodes.PluginError, message, data);
      },
    },
    sleep: {
      handler: async ({ ms, tag }, ctx) => {
        try {
          await wait(ms, ctx.signal);
        } catch (e) {
          if (tag !== undefined) cancelledTags.add(tag);
          throw e;
        }
        return { slept: ms };
      },
    },
    wasCancelled: { handler: ({ tag }) => ({ cancelled: cancelledTags.has(tag) }) },
    stream: {
      streaming: true,
      handler: async function* ({ n }) {
        for (let i = 0; i < n; i++) yield { i };
        return { count: n };
      },
    },
    callOther: { handler: ({ method, params }, ctx) => ctx.call(method, params ?? {}) },
    emit: { handler: ({ event, data }, ctx) => (ctx.emit(event, data), null) },
    log: { handler: ({ level, msg }, ctx) => (ctx.log(level, msg), null) },
    size: { handler: ({ blob }) => ({ length: [...blob].length }) },
    blob: { handler: ({ bytes }) => "x".repeat(bytes) },
    meta: { handler: (_params, ctx) => ctx.meta },
  },
}).serve();
