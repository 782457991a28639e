/** readProcFile (src/supervisor/proc-file.ts): /proc files through one reused buffer, as readFileSync would read them. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { readProcFile } from "../../../src/supervisor/proc-file.js";
import { sampleGroups, sampleRss } from "../../../src/supervisor/process-sampler.js";

t.test("a stat line reads whole, and the next read does not keep the previous one's tail", async (t) => {
  const stat = readProcFile(`/proc/${process.pid}/stat`);
  t.match(stat, new RegExp(`^${process.pid} \\(.*\\) [A-Za-z] `));
  t.ok(stat.endsWith("\n"), "the whole line, up to its newline");
  const statm = readProcFile(`/proc/${process.pid}/statm`);
  t.match(statm, /^\d+ \d+ \d+ \d+ \d+ \d+ \d+\n$/, "a shorter file after a longer one is only itself");
});

t.test("a file larger than the buffer is read whole", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-proc-file-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "big");
  const text = "x".repeat(10_000);
  writeFileSync(file, text);
  t.equal(readProcFile(file), text);
  const exact = join(dir, "exact");
  writeFileSync(exact, "y".repeat(4096));
  t.equal(readProcFile(exact).length, 4096);
});

t.test("bad input: a process that is gone throws ENOENT, as readFileSync does", async (t) => {
  t.throws(() => readProcFile("/proc/999999999/stat"), { code: "ENOENT" });
});

t.test("the samplers read this process: its group and its RSS", { skip: process.platform !== "linux" && "Linux only" }, async (t) => {
  const rss = sampleRss([process.pid]);
  t.ok(rss > 10 * 2 ** 20, `RSS from statm: ${rss} bytes`);
  t.equal(sampleRss([999999999]), 0, "a process that is gone counts as 0");
  const groups = sampleGroups();
  const mine = [...groups.values()].find((g) => g.pids.includes(process.pid));
  t.ok(mine && mine.rssBytes > 0 && mine.cpuTicks >= 0, "this process is in a group with memory and CPU");
});
