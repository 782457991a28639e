import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import type { BuildStep } from "../../../src/registry/index.js";
import { buildRecordFile, hashBuildInputs, readBuildRecord, rebuildReason, writeBuildRecord } from "../../../src/supervisor/build-inputs.js";
import { BuildQueue } from "../../../src/supervisor/build-queue.js";

t.test("the inputs hash follows the matched files' paths and contents, and the step itself", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-build-inputs-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "src/deep"), { recursive: true });
  mkdirSync(join(dir, "target"), { recursive: true });
  writeFileSync(join(dir, "src/main.rs"), "fn main() {}");
  writeFileSync(join(dir, "src/deep/lib.rs"), "pub fn x() {}");
  writeFileSync(join(dir, "Cargo.toml"), "[package]");
  writeFileSync(join(dir, "notes.md"), "not an input");
  const step: BuildStep = { command: ["cargo", "build"], cwd: dir, inputs: ["src/**/*.rs", "Cargo.toml"], outputs: ["out.bin"], timeoutMs: 1000, env: {} };
  const a = await hashBuildInputs(step);
  t.equal(a.files, 3, "src/**/*.rs and Cargo.toml match three files");
  writeFileSync(join(dir, "notes.md"), "changed, still not an input");
  writeFileSync(join(dir, "target/x.rs"), "build output is never an input");
  t.equal((await hashBuildInputs(step)).hash, a.hash, "files outside the inputs change nothing");
  writeFileSync(join(dir, "src/deep/lib.rs"), "pub fn y() {}");
  const b = await hashBuildInputs(step);
  t.not(b.hash, a.hash, "an input's content changes the hash");
  t.not((await hashBuildInputs({ ...step, command: ["cargo", "build", "--release"] })).hash, b.hash, "so does the command");

  const file = buildRecordFile(join(dir, "data"), "p");
  t.equal(rebuildReason(step, readBuildRecord(file), b.hash), "no successful build recorded");
  writeBuildRecord(file, { hash: b.hash, at: 1, durationMs: 2 });
  t.equal(rebuildReason(step, readBuildRecord(file), b.hash), "output out.bin is missing");
  writeFileSync(join(dir, "out.bin"), "");
  t.equal(rebuildReason(step, readBuildRecord(file), b.hash), undefined, "recorded, unchanged, outputs there: no build");
  t.equal(rebuildReason(step, readBuildRecord(file), a.hash), "inputs changed since the last build");
  writeFileSync(file, "{ not json");
  t.equal(readBuildRecord(file), undefined, "an unreadable record means a rebuild");
});

t.test("the build queue runs builds in turns and hands a finished turn to the next in line", async (t) => {
  const q = new BuildQueue(1);
  const order: string[] = [];
  let release!: () => void;
  const first = q.run(() => new Promise<void>((r) => (release = () => (order.push("first done"), r()))));
  const waits: number[] = [];
  const second = q.run(
    async () => void order.push("second ran"),
    (ahead) => waits.push(ahead),
  );
  t.equal(q.queued, 1, "the second waits");
  t.same(waits, [1], "told how many are ahead");
  await new Promise((r) => setImmediate(r));
  t.same(order, [], "nothing ran past the first");
  release();
  await Promise.all([first, second]);
  t.same(order, ["first done", "second ran"]);

  const ctl = new AbortController();
  let hold!: () => void;
  const busy = q.run(() => new Promise<void>((r) => (hold = r)));
  const cancelled = q.run(async () => "ran", undefined, ctl.signal);
  ctl.abort(new Error("stopped"));
  await t.rejects(cancelled, /stopped/, "a waiting build can be cancelled");
  t.equal(q.queued, 0);
  hold();
  await busy;
  t.equal(await q.run(async () => "free"), "free", "the turn is free again");
});
