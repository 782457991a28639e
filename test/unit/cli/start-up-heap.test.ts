/**
 * The daemon's start-up heap settings (src/cli/start-up-heap.ts), in a fresh Node each: a burst
 * of allocations that survive does not grow the young generation while they apply, does once
 * they are restored, and a user's own heap flag leaves V8 alone.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import t from "tap";

const MODULE = fileURLToPath(new URL("../../../dist/cli/start-up-heap.js", import.meta.url));

/** Runs a burst (~15 MiB of small objects kept alive) and reports the young generation's size before and after. */
const SCRIPT = `
import { getHeapSpaceStatistics } from "node:v8";
const { startUpHeapSettings } = await import(${JSON.stringify(MODULE)});
const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
const burst = () => { const kept = []; for (let i = 0; i < 150_000; i++) kept.push({ i, s: "x" + i, a: [i, i] }); return kept; };
const keep = [];
const end = startUpHeapSettings();
const initial = newSpace();
keep.push(burst());
const held = newSpace();
end();
keep.push(burst(), burst());
const after = newSpace();
process.stdout.write(JSON.stringify({ initial, held, after, kept: keep.length }));
`;

function run(execArgv: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ initial: number; held: number; after: number }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...execArgv, "--input-type=module", "-e", SCRIPT], { env: { ...process.env, NODE_OPTIONS: "", ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
  });
}

t.test("while the settings apply the young generation does not grow; restored, it grows again", async (t) => {
  const r = await run();
  t.ok(r.held <= r.initial, `a burst during start-up did not grow the young generation (${r.initial} -> ${r.held} bytes)`);
  t.ok(r.after > r.held, `after the restore a burst grew it (${r.held} -> ${r.after} bytes)`);
});

t.test("without the settings the same burst grows the young generation (what they prevent)", async (t) => {
  // A user's flag of their own turns the settings off: V8's defaults throughout.
  const r = await run(["--semi-space-growth-factor=2"]);
  t.ok(r.held > r.initial, `grew during the burst (${r.initial} -> ${r.held} bytes)`);
});

t.test("a heap flag in NODE_OPTIONS is the user's choice too", async (t) => {
  const r = await run([], { NODE_OPTIONS: "--max-semi-space-size=16" });
  t.ok(r.held > r.initial, `grew during the burst (${r.initial} -> ${r.held} bytes)`);
});
