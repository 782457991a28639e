import t from "tap";
import { DaemonLogGate, type Dropped } from "../../../src/logs/index.js";

t.test("the daemon's log gate: a burst, then linesPerSec; a line costs one per started KiB; drops are noted with figures", async (t) => {
  let now = 0;
  const notes: Dropped[] = [];
  const gate = new DaemonLogGate(
    { linesPerSec: 10, burst: 5 },
    (d) => notes.push(d),
    60_000,
    () => now,
  );
  const admitted = Array.from({ length: 8 }, () => gate.admit("p", 100)).filter(Boolean).length;
  t.equal(admitted, 5, "the burst passes, the rest is refused");
  t.ok(gate.admit("q", 100), "each plugin has its own bucket");
  now += 100;
  t.ok(gate.admit("p", 100), "a tenth of a second later, one more line");
  t.notOk(gate.admit("p", 100));
  now += 1000;
  t.notOk(gate.admit("p", 10 * 1024 + 1), "a line of 11 started KiB costs 11 tokens, over the burst of 5");
  t.ok(gate.admit("p", 4096), "4 KiB costs 4");
  now += 500;
  gate.flush();
  t.same(notes, [{ plugin: "p", lines: 5, bytes: 3 * 100 + 100 + 10 * 1024 + 1, sinceMs: 1600 }]);
  gate.flush();
  t.equal(notes.length, 1, "a window without drops notes nothing");
});
