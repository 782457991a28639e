/**
 * Call-handling cases (docs/protocol.md §1.5, §3, §5): ping, cancellation by the daemon and
 * by deadline, streamed progress, and concurrent calls.
 */
import { randomUUID } from "node:crypto";
import { ErrorCodes } from "@bkg/protocol";
import type { Case } from "../case.js";
import { describeAnswer, expectError, expectResult } from "../expect.js";
import type { Harness } from "../harness.js";
import { mismatch } from "../match.js";
import type { Answer } from "../session.js";
import { delay, fail, isObject, preview } from "../util.js";

/** How soon after $/cancelRequest (or the deadline) the -32800 answer must arrive. */
const CANCEL_MS = 1000;

export const ping: Case = {
  name: "ping",
  async run(h) {
    const s = await h.session();
    const result = expectResult(await s.request("bkg/ping", {}, h.timeouts.callMs), "bkg/ping");
    if (!isObject(result)) fail(`expected bkg/ping to answer an object such as {"now": 1764020000123}, got ${preview(result)}`);
    if (result.now !== undefined && typeof result.now !== "number") fail(`expected bkg/ping's "now" to be epoch ms (a number), got ${preview(result.now)}`);
  },
};

/**
 * The handler observes its cancellation, but an SDK may answer -32800 for it first (the Rust SDK
 * does when the handler takes a moment to stop), so the record is asked for until CANCEL_MS.
 */
async function assertCancelled(h: Harness, tag: string): Promise<void> {
  const until = Date.now() + CANCEL_MS;
  for (;;) {
    const result = expectResult(await h.call("wasCancelled", { tag }), `wasCancelled {tag: ${JSON.stringify(tag)}}`);
    const m = mismatch({ cancelled: true }, result, "result");
    if (!m) return;
    if (Date.now() >= until) fail(`expected wasCancelled to report, within ${CANCEL_MS} ms of the -32800 answer, that the sleep tagged ${JSON.stringify(tag)} observed its cancellation; ${m}`);
    await delay(20);
  }
}

export const cancellation: Case = {
  name: "cancellation",
  async run(h) {
    const s = await h.session();
    const tag = `cancel-${randomUUID()}`;
    const { id, answer } = s.send("sleep", h.withMeta({ ms: 5000, tag }, { timeoutMs: 10_000 }), 10_000);
    await delay(100);
    const sent = Date.now();
    s.notify("$/cancelRequest", { id });
    const a = await raceAnswer(answer, CANCEL_MS, `an answer to the cancelled sleep within ${CANCEL_MS} ms of $/cancelRequest`);
    const ms = Date.now() - sent;
    expectError(a, ErrorCodes.RequestCancelled, `a sleep cancelled after 100 ms`);
    if (ms > CANCEL_MS) fail(`expected the -32800 answer within ${CANCEL_MS} ms of $/cancelRequest, it took ${ms} ms`);
    await assertCancelled(h, tag);
  },
};

export const cancelUnknown: Case = {
  name: "cancel unknown id",
  async run(h) {
    const s = await h.session();
    expectResult(await h.call("reverse", { text: "done" }), "reverse");
    s.notify("$/cancelRequest", { id: 0 }); // answered long ago: the initialize request
    s.notify("$/cancelRequest", { id: 987_654_321 });
    const result = expectResult(await h.call("reverse", { text: "still here" }), "reverse after cancels for unknown ids");
    if (result !== "ereh llits") fail(`expected reverse to answer "ereh llits" after the ignored cancels, got ${preview(result)}`);
  },
};

export const deadline: Case = {
  name: "deadline",
  async run(h) {
    const s = await h.session();
    const tag = `deadline-${randomUUID()}`;
    const t0 = Date.now();
    const { answer } = s.send("sleep", { ms: 5000, tag, _meta: { deadline: t0 + 200, caller: "cli" } }, 10_000);
    const a = await raceAnswer(answer, 200 + CANCEL_MS, `the sleep to stop by itself within ${CANCEL_MS} ms of its _meta.deadline (no $/cancelRequest is sent)`);
    const ms = Date.now() - t0;
    expectError(a, ErrorCodes.RequestCancelled, "a sleep {ms: 5000} whose _meta.deadline passed after 200 ms");
    if (ms < 150) fail(`expected the sleep to run until its deadline 200 ms away, it answered after ${ms} ms`);
    await assertCancelled(h, tag);
  },
};

/** Waits for an answer for at most `ms`, failing with `what` when none comes. */
async function raceAnswer(answer: Promise<Answer>, ms: number, what: string): Promise<Answer> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`expected ${what}, nothing arrived`)), ms)));
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}

function streamCase(name: string, n: number, token: string | number): Case {
  return {
    name,
    async run(h) {
      const s = await h.session();
      const answer = await h.call("stream", { n }, { meta: { progressToken: token } });
      const result = expectResult(answer, `stream {n: ${n}}`);
      const m = mismatch({ count: n }, result, "result");
      if (m) fail(`stream {n: ${n}}: ${m}`);
      const progress = s.received.filter((x) => x.method === "$/progress" && isObject(x.params) && x.params.token === token);
      const others = s.received.filter((x) => x.method === "$/progress" && !(isObject(x.params) && x.params.token === token) && x.seq < answer.seq);
      if (progress.length !== n) {
        const hint = others.length > 0 ? `; ${others.length} other $/progress had params ${preview(others[0].params)}` : "";
        fail(`expected ${n} $/progress notifications with token ${JSON.stringify(token)} before the result, got ${progress.length}${hint}`);
      }
      for (let i = 0; i < n; i++) {
        const p = progress[i];
        if (p.seq > answer.seq) fail(`expected every $/progress before the final answer, $/progress #${i} arrived after it`);
        const mm = mismatch({ i }, (p.params as Record<string, unknown>).value, `$/progress[${i}].value`);
        if (mm) fail(`expected the values {i: 0..${n - 1}} in order; ${mm}`);
      }
    },
  };
}

export const streaming = streamCase("streaming", 50, "p-conformance-50");
export const streamingNumericToken = streamCase("streaming, numeric token", 3, 7);

export const concurrency: Case = {
  name: "concurrency",
  async run(h) {
    const s = await h.session();
    const n = 10;
    const ms = 400;
    const bound = 2000;
    const t0 = Date.now();
    const answers: (Answer | undefined)[] = new Array(n).fill(undefined);
    const sends = Array.from({ length: n }, (_, i) => s.send("sleep", h.withMeta({ ms }, { timeoutMs: 10_000 }), 10_000).answer.then((a) => (answers[i] = a)));
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<"late">((resolve) => (timer = setTimeout(resolve, bound, "late")));
    const r = await Promise.race([Promise.all(sends), bounded]);
    clearTimeout(timer);
    const elapsed = Date.now() - t0;
    if (r === "late") {
      const done = answers.filter((a) => a !== undefined).length;
      fail(`expected ${n} concurrent sleep {ms: ${ms}} to all answer within ${bound} ms (about ${ms} ms if served concurrently), ${done} answered in that time`);
    }
    for (const a of answers) {
      const result = expectResult(a as Answer, `sleep {ms: ${ms}}`);
      if (mismatch({ slept: ms }, result)) fail(`expected sleep {ms: ${ms}} to answer {"slept":${ms}}, got ${describeAnswer(a as Answer)}`);
    }
    if (elapsed < ms - 50) fail(`expected sleep {ms: ${ms}} to take about ${ms} ms, all ${n} answered after ${elapsed} ms`);
  },
};
