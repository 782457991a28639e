/**
 * The echo plugin: small methods that exercise every part of the protocol. Tests and
 * benchmarks lean on it, so each method does one thing and does it predictably.
 */
import { BkgError, ErrorCodes, definePlugin } from "@bkg/plugin-sdk";

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });

definePlugin({
  name: "echo",
  version: "1.0.0",
  methods: {
    echo: {
      description: "Returns its params unchanged.",
      handler: (params) => params,
    },
    reverse: {
      description: "Reverses a string by Unicode code point.",
      params: { type: "object", required: ["text"], properties: { text: { type: "string" } }, additionalProperties: false },
      handler: ({ text }: { text: string }) => [...text].reverse().join(""),
    },
    sleep: {
      description: "Waits ms milliseconds, or until cancelled; logs when it sees the cancellation.",
      params: { type: "object", required: ["ms"], properties: { ms: { type: "integer", minimum: 0 } } },
      handler: async ({ ms }: { ms: number }, ctx) => {
        try {
          await sleep(ms, ctx.signal);
        } catch (e) {
          ctx.log("info", "sleep observed cancellation", { reason: (e as Error).message, ms });
          ctx.emit("sleep.cancelled", { ms, reason: (e as Error).message });
          throw e;
        }
        return { slept: ms };
      },
    },
    stream: {
      description: "Streams n chunks {i}, then returns {count: n}.",
      params: { type: "object", required: ["n"], properties: { n: { type: "integer", minimum: 0, maximum: 100000 }, delayMs: { type: "integer", minimum: 0 } } },
      streaming: true,
      handler: async function* ({ n, delayMs = 0 }: { n: number; delayMs?: number }, ctx) {
        for (let i = 0; i < n; i++) {
          if (delayMs) await sleep(delayMs, ctx.signal);
          yield { i };
        }
        return { count: n };
      },
    },
    fail: {
      description: "Fails with a plugin error (code -33010 unless given).",
      handler: ({ message = "echo was asked to fail", code, data }: { message?: string; code?: number; data?: unknown }) => {
        throw new BkgError(code ?? ErrorCodes.PluginError, message, data);
      },
    },
    crash: {
      description: "Exits the process at once with the given code (default 3), without answering.",
      handler: ({ code = 3 }: { code?: number }) => {
        process.exit(code);
      },
    },
    relay: {
      description: "Calls another plugin's method through the daemon and returns its result.",
      params: { type: "object", required: ["method"], properties: { method: { type: "string" }, params: {}, timeoutMs: { type: "integer", minimum: 1 } } },
      handler: ({ method, params, timeoutMs }: { method: string; params?: unknown; timeoutMs?: number }, ctx) => ctx.call(method, params ?? {}, { timeoutMs }),
    },
    pid: {
      description: "Returns this instance's process id.",
      handler: () => ({ pid: process.pid }),
    },
    block: {
      description: "Blocks the event loop for ms milliseconds (a hung plugin, for tests).",
      params: { type: "object", required: ["ms"], properties: { ms: { type: "integer", minimum: 0, maximum: 600000 } } },
      handler: ({ ms }: { ms: number }) => {
        const until = Date.now() + ms;
        while (Date.now() < until) {
          /* busy: pings go unanswered */
        }
        return { blocked: ms };
      },
    },
  },
}).serve();
