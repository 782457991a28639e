/**
 * Plugin-to-daemon cases (docs/protocol.md §4): bkg/call answered by the runner with a result
 * and with an error that must pass through, and bkg/emit and bkg/log as notifications.
 */
import { randomUUID } from "node:crypto";
import { ErrorCodes } from "@bkg/protocol";
import type { Case } from "../case.js";
import { describeAnswer, expectError, expectResult } from "../expect.js";
import type { Harness } from "../harness.js";
import { mismatch, partialMismatch } from "../match.js";
import type { Incoming, Reply } from "../session.js";
import { fail, isObject, preview } from "../util.js";

const TARGET = "other.thing";
const TARGET_PARAMS = { x: 1 };

/** Runs callOther while the runner answers the plugin's bkg/call with `reply`. */
async function callOther(h: Harness, reply: Reply) {
  const s = await h.session();
  const seen: Incoming[] = [];
  s.onRequest = (req) => {
    if (req.method !== "bkg/call") return { error: { code: ErrorCodes.MethodNotFound, message: `the conformance runner serves only bkg/call, not ${req.method}` } };
    seen.push(req);
    return reply;
  };
  try {
    const answer = await h.call("callOther", { method: TARGET, params: TARGET_PARAMS });
    if (seen.length !== 1) fail(`expected callOther to make exactly one bkg/call request, it made ${seen.length} and answered ${describeAnswer(answer)}`);
    const p = seen[0].params;
    if (!isObject(p)) fail(`expected bkg/call params to be {method, params, timeoutMs?}, got ${preview(p)}`);
    if (p.method !== TARGET) fail(`expected bkg/call params.method ${JSON.stringify(TARGET)}, got ${preview(p.method)}`);
    const m = mismatch(TARGET_PARAMS, p.params, "bkg/call params.params");
    if (m) fail(m);
    if (p.timeoutMs !== undefined && typeof p.timeoutMs !== "number") fail(`expected bkg/call params.timeoutMs to be a number when present, got ${preview(p.timeoutMs)}`);
    return answer;
  } finally {
    s.onRequest = undefined;
  }
}

export const callResult: Case = {
  name: "bkg/call result",
  async run(h) {
    const value = { nonce: randomUUID(), list: [1, "two", null], nested: { ok: true } };
    const answer = await callOther(h, { result: value });
    const result = expectResult(answer, `callOther {method: "${TARGET}"} (the runner answered its bkg/call with a result)`);
    const m = mismatch(value, result, "result");
    if (m) fail(`expected callOther to return the bkg/call result unchanged; ${m}`);
  },
};

export const callError: Case = {
  name: "bkg/call error",
  async run(h) {
    const error = { code: ErrorCodes.PermissionDenied, message: `conformance: plugin "conformance" may not call ${TARGET}`, data: { target: TARGET } };
    const answer = await callOther(h, { error });
    expectError(answer, ErrorCodes.PermissionDenied, `callOther (the runner answered its bkg/call with error -33003)`);
  },
};

function notificationCase(name: string, method: string, params: Record<string, unknown>, expected: Record<string, unknown>, exact: boolean): Case {
  return {
    name,
    async run(h) {
      const s = await h.session();
      const since = s.received.length;
      const result = expectResult(await h.call(method, params), `${method} ${preview(params)}`);
      if (result !== null) fail(`expected ${method} to answer null, got ${preview(result)}`);
      const wire = `bkg/${method}`;
      const n = await s.waitFor((m) => m.method === wire && s.received.indexOf(m) >= since, 1000, `a ${wire} notification`);
      if (n.id !== undefined) fail(`expected ${wire} to be a notification (no id), it came as a request with id ${preview(n.id)}`);
      const m = exact ? mismatch(expected, n.params, "params") : partialMismatch(expected, n.params, "params");
      if (m) fail(`${wire}: ${m}`);
    },
  };
}

const EMIT = { event: "conformance.tick", data: { n: 1, text: "héllo ✓", list: [true, null] } };
export const emit = notificationCase("bkg/emit", "emit", EMIT, EMIT, true);

const LOG = { level: "warn", msg: "conformance log line ✓" };
export const log = notificationCase("bkg/log", "log", LOG, LOG, false);
