/** 8 MiB messages in both directions: framing by bytes, not characters, at size. */
import type { Case } from "../case.js";
import { expectResult } from "../expect.js";
import { mismatch } from "../match.js";
import { fail, preview } from "../util.js";

const MiB = 1024 * 1024;
const BYTES = 8 * MiB;

export const largeRequest: Case = {
  name: "8 MiB request",
  async run(h) {
    // 8 MiB of UTF-8: ASCII, then 256 four-byte emoji, so bytes, UTF-16 units and code points all differ.
    const emoji = 256;
    const blob = "x".repeat(BYTES - 4 * emoji) + "😀".repeat(emoji);
    const codePoints = BYTES - 3 * emoji;
    const answer = await h.call("size", { blob }, { timeoutMs: h.timeouts.largeMs });
    const result = expectResult(answer, `size {blob: <${BYTES} bytes>}`);
    const m = mismatch({ length: codePoints }, result, "result");
    if (m) fail(`expected size to count ${codePoints} code points in an ${BYTES}-byte blob; ${m}`);
  },
};

export const largeResponse: Case = {
  name: "8 MiB response",
  async run(h) {
    const answer = await h.call("blob", { bytes: BYTES }, { timeoutMs: h.timeouts.largeMs });
    const result = expectResult(answer, `blob {bytes: ${BYTES}}`);
    if (typeof result !== "string") fail(`expected blob to answer a string, got ${preview(result)}`);
    if (result.length !== BYTES) fail(`expected a string of ${BYTES} "x", got ${result.length} chars`);
    const bad = result.search(/[^x]/);
    if (bad >= 0) fail(`expected only "x" characters, got ${JSON.stringify(result.slice(bad, bad + 10))} at offset ${bad}`);
  },
};
