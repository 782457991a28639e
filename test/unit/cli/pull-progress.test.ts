/** The pull progress printer: a redrawn bar in a terminal, a plain line per 10% otherwise. */
import t from "tap";
import { progressPrinter } from "../../../src/cli/pull-progress.js";
import type { ModelPullEvent } from "../../../src/events/index.js";

const stream = (isTTY: boolean) => {
  const chunks: string[] = [];
  return { out: { isTTY, write: (s: string) => chunks.push(s) } as unknown as NodeJS.WriteStream, chunks };
};
const ev = (phase: ModelPullEvent["phase"], received?: number): ModelPullEvent => ({
  kind: "model",
  ts: 0,
  pullId: "pull_1",
  model: "m",
  phase,
  what: "https://x/y/model.gguf",
  received,
  total: received === undefined ? undefined : 1000,
});
const run = (isTTY: boolean) => {
  const s = stream(isTTY);
  const p = progressPrinter(s.out);
  p(ev("started"));
  for (let r = 0; r <= 1000; r += 50) p(ev("fetch", r));
  p(ev("done"));
  return s.chunks.join("");
};

t.test("a terminal gets one line redrawn in place, with a bar", async (t) => {
  const out = run(true);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: it matches the terminal's ANSI escape codes
  t.match(out, /\r\x1b\[2Km {2}model\.gguf {2}\[#{12}\.{12}\] {2}50% 0\.0\/0\.0 MB/);
  t.match(out, /\[#{24}\] 100%/);
  t.ok(out.endsWith("\n"), "the line is ended when the pull is");
});

t.test("a pipe gets a plain line per 10%", async (t) => {
  const lines = run(false).trim().split("\n");
  t.equal(lines[0], "pulling m");
  t.same(
    lines.slice(1).map((l) => /(\d+)% /.exec(l)?.[1]),
    ["0", "10", "20", "30", "40", "50", "60", "70", "80", "90", "100"],
  );
  t.notOk(lines.some((l) => l.includes("\r")));
});
