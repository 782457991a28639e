/** The daemon's own log file: size rotation, whole lines, bounded file count, written at exit. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { RotatingLogStream } from "../../../src/logs/index.js";

t.test("rotates by size, keeps `files` files, never splits a line", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-rls-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "logs", "daemon.log");
  const s = new RotatingLogStream(path, { maxBytes: 1000, files: 3 });
  for (let i = 0; i < 200; i++) {
    s.write(`${JSON.stringify({ i, msg: "x".repeat(40) })}\n`);
    if (i % 10 === 9) s.flushSync();
  }
  s.end();
  t.same(readdirSync(join(dir, "logs")).sort(), ["daemon.log", "daemon.log.1", "daemon.log.2"], "three files, no more");
  const lines: number[] = [];
  for (const f of ["daemon.log.2", "daemon.log.1", "daemon.log"]) {
    const text = readFileSync(join(dir, "logs", f), "utf8");
    t.ok(Buffer.byteLength(text) <= 1000, `${f} is within maxBytes`);
    for (const l of text.split("\n").filter(Boolean)) lines.push((JSON.parse(l) as { i: number }).i);
  }
  t.same(
    lines,
    Array.from({ length: lines.length }, (_, k) => 200 - lines.length + k),
    "whole lines, the newest kept, in order",
  );
});

t.test("one flush larger than a file is cut at line ends, by bytes not characters", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-rls-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "d.log");
  // 40 two-byte characters per line: counting characters instead of bytes would overfill a file.
  const s = new RotatingLogStream(path, { maxBytes: 1000, files: 4 });
  for (let i = 0; i < 35; i++) s.write(`${JSON.stringify({ i, msg: "é".repeat(40) })}\n`);
  s.end();
  const files = ["d.log.3", "d.log.2", "d.log.1", "d.log"];
  t.same(readdirSync(dir).sort(), [...files].sort(), "the 35 lines (about 3.4 kB, ten to a file) filled three files and started a fourth");
  const lines: number[] = [];
  for (const f of files) {
    const text = readFileSync(join(dir, f), "utf8");
    t.ok(Buffer.byteLength(text) <= 1000, `${f} is within maxBytes (${Buffer.byteLength(text)} bytes)`);
    t.ok(text.endsWith("\n"), `${f} ends with a whole line`);
    for (const l of text.split("\n").filter(Boolean)) lines.push((JSON.parse(l) as { i: number }).i);
  }
  t.same(
    lines,
    Array.from({ length: 35 }, (_, k) => k),
    "every line, once, in order",
  );
});

t.test("what is buffered is written when the process exits", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-rls-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "d.log");
  const mod = new URL("../../../src/logs/rotating-log-stream.ts", import.meta.url).href;
  const script = `const { RotatingLogStream } = await import(${JSON.stringify(mod)}); const s = new RotatingLogStream(${JSON.stringify(path)}, { maxBytes: 1e6, files: 2 }, { flushOnExit: true }); s.write("last words\\n"); process.exit(0);`;
  const r = spawnSync(process.execPath, [...process.execArgv, "--input-type=module", "-e", script], { encoding: "utf8" });
  t.equal(r.status, 0, r.stderr);
  t.ok(existsSync(path));
  t.equal(readFileSync(path, "utf8"), "last words\n");
});
