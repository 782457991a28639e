/**
 * Cases for the protocol-only mode: what every plugin must do whatever its methods
 * (docs/protocol.md), checked without the contract's methods. The handshake checks only the
 * protocol's rules; the unknown-method, cancel and 8 MiB cases use a method name no plugin
 * has and bkg/ping; concurrency needs a slow method the runner knows, so it is skipped.
 */
import { randomUUID } from "node:crypto";
import { ErrorCodes } from "@bkg/protocol";
import type { Case } from "../case.js";
import { expectError, expectResult } from "../expect.js";
import { checkInitializeResult } from "../handshake.js";
import type { Harness } from "../harness.js";
import { fail, isObject, preview } from "../util.js";

/** A method name no plugin declares: the prefix keeps it out of any real plugin's namespace. */
function unknownMethod(): string {
  return `bkgConformanceNoSuchMethod_${randomUUID().slice(0, 8)}`;
}

/** The method names the plugin declared at the handshake (empty if it has not happened). */
function declaredMethods(h: Harness): string[] {
  const r = h.initializeResult;
  if (!isObject(r) || !Array.isArray(r.methods)) return [];
  return r.methods.filter((m): m is { name: string } => isObject(m) && typeof m.name === "string").map((m) => m.name);
}

export const handshake: Case = {
  name: "handshake",
  async run(h) {
    const { answer } = await h.startMain();
    const problems = checkInitializeResult(expectResult(answer, "initialize"), "protocol");
    if (problems.length > 0) fail(problems.join("; "));
  },
};

export const unknownMethodCase: Case = {
  name: "unknown method",
  async run(h) {
    const method = unknownMethod();
    const err = expectError(await h.call(method, {}), ErrorCodes.MethodNotFound, `${method} (a method the plugin does not declare)`);
    const known = declaredMethods(h);
    if (known.length > 0 && !known.some((m) => err.message.includes(m))) {
      fail(`expected the -32601 message to name the methods that exist (docs/protocol.md §3), such as ${JSON.stringify(known[0])}; got ${preview(err.message)}`);
    }
  },
};

async function ping(h: Harness, what: string): Promise<void> {
  const s = await h.session();
  const result = expectResult(await s.request("bkg/ping", {}, h.timeouts.callMs), what);
  if (!isObject(result)) fail(`expected ${what} to answer an object such as {"now": 1764020000123}, got ${preview(result)}`);
}

export const cancelUnknown: Case = {
  name: "cancel unknown id",
  async run(h) {
    const s = await h.session();
    await ping(h, "bkg/ping before the cancels");
    s.notify("$/cancelRequest", { id: 0 }); // answered long ago: the initialize request
    s.notify("$/cancelRequest", { id: 987_654_321 });
    await ping(h, "bkg/ping after $/cancelRequest for a finished and an unknown id");
  },
};

const MiB = 1024 * 1024;

export const largeRequest: Case = {
  name: "8 MiB request",
  async run(h) {
    // 8 MiB of UTF-8 with 4-byte emoji at the end: a plugin that frames by characters reads too far.
    const emoji = 256;
    const blob = "x".repeat(8 * MiB - 4 * emoji) + "😀".repeat(emoji);
    const method = unknownMethod();
    const answer = await h.call(method, { blob }, { timeoutMs: h.timeouts.largeMs });
    expectError(answer, ErrorCodes.MethodNotFound, `${method} with an 8 MiB param (the frame must be read whole, by bytes)`);
    await ping(h, "bkg/ping after the 8 MiB frame");
  },
};

export const concurrencySkipped: Case = {
  name: "concurrency",
  skip: "protocol-only mode: checking that calls are served concurrently needs a slow method the runner knows (the contract's sleep)",
  async run() {
    /* never run */
  },
};
