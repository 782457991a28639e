/**
 * Lifecycle cases (docs/protocol.md §1.4, §2): the handshake, a major-version mismatch,
 * shutdown then exit, stdin closing, and the cleanliness of stdout over the whole run.
 */
import { ErrorCodes } from "@bkg/protocol";
import type { Case } from "../case.js";
import { expectError, expectResult } from "../expect.js";
import { checkInitializeResult } from "../handshake.js";
import { describeExit, type PluginSession } from "../session.js";
import { fail, preview } from "../util.js";

const EXIT_MS = 3000;

/** Waits for the process to exit by itself after `after`, failing when it does not. */
async function ownExit(s: PluginSession, after: string) {
  const exit = await s.waitForExit(EXIT_MS);
  if (s.spawnError) fail(s.spawnError);
  if (exit && s.killedByRunner) fail(`expected the plugin to exit by itself after ${after}; the runner had to kill it (${s.dead})`);
  if (!exit) fail(`expected the plugin to exit within ${EXIT_MS} ms of ${after}, it is still running`);
  return exit;
}

export const handshake: Case = {
  name: "handshake",
  async run(h) {
    const { answer } = await h.startMain();
    const problems = checkInitializeResult(expectResult(answer, "initialize"));
    if (problems.length > 0) fail(problems.join("; "));
  },
};

export const protocolMismatch: Case = {
  name: "protocol mismatch",
  async run(h) {
    const s = h.spawn();
    try {
      const answer = await h.initialize(s, "2.0.0");
      const err = expectError(answer, ErrorCodes.ProtocolMismatch, 'initialize with protocolVersion "2.0.0"');
      if (!err.message.includes("2.0.0") || !/\b1\.\d+/.test(err.message)) {
        fail(`expected the -33006 message to name both versions ("2.0.0" and the plugin's 1.x), got ${preview(err.message)}`);
      }
      s.notify("exit");
      await ownExit(s, '"exit" (sent after the mismatch)');
    } finally {
      await s.kill();
    }
  },
};

export const shutdownExit: Case = {
  name: "shutdown and exit",
  async run(h) {
    const s = await h.session();
    h.takeMain();
    try {
      const answer = await s.request("shutdown", null, h.timeouts.callMs);
      const result = expectResult(answer, "shutdown");
      if (result !== null) fail(`expected shutdown to answer null, got ${preview(result)}`);
      s.notify("exit");
      const exit = await ownExit(s, '"exit"');
      if (exit.code !== 0) fail(`expected exit code 0 after "exit", got ${describeExit(exit)}`);
    } finally {
      await s.kill();
    }
  },
};

export const stdinClose: Case = {
  name: "stdin close",
  async run(h) {
    const s = h.spawn();
    try {
      // A plugin that cannot even start is judged by the handshake case; here only the exit matters.
      if (!h.startFailure) {
        const answer = await h.initialize(s).catch(() => undefined);
        if (answer?.ok) h.ready(s);
      }
      s.closeStdin();
      await ownExit(s, "its stdin closing");
    } finally {
      await s.kill();
    }
  },
};

export const stdoutClean: Case = {
  name: "stdout only frames",
  async run(h) {
    const v = h.violations();
    if (v.length > 0) fail(`expected nothing but well-formed JSON-RPC frames on stdout, got ${v.length} problem${v.length > 1 ? "s" : ""}: ${v.slice(0, 3).join(" | ")}`);
  },
};
