/**
 * V8 settings for the daemon's start-up only. Loading the modules and starting the plugins is a
 * burst of allocations that live on (code, manifests, the store), unlike anything the daemon
 * does afterwards:
 * - V8 answers a burst whose objects survive by doubling the young generation's semi-spaces; an
 *   idle daemon then held ~7 MiB of young generation it did not use until V8's memory reducer
 *   shrank it some 10 s later. While the daemon starts, `--semi-space-growth-factor` is 1 (the
 *   start-up's survivors go to the old generation, where they belong).
 * - `--optimize-for-size` makes the start-up's collections compact and size the heap for memory
 *   rather than speed: another ~3 MiB less at idle.
 * Both are back to V8's defaults once the daemon has started, so a daemon under load grows its
 * young generation and optimises as before (a small young generation under load means a
 * scavenge every megabyte: more CPU per call). Measured (docs/benchmarks.md, issue 19): idle RSS
 * with 10 plugins 67.7 -> 62.3 MiB; CPU per call under load unchanged; CPU until 10 plugins are
 * ready ~5% more (wall time to ready unchanged). `--max-opt=0` for the start-up was worth 2.7 MiB
 * more but is not used: restored, V8 did not optimise the functions afterwards (2x CPU per call).
 *
 * V8 reads both flags when it decides (each growth, each collection), so setting them at run time
 * through v8.setFlagsFromString takes effect, unlike `--max-semi-space-size`, which is read once
 * when the heap is made (both flags exist in every V8 that Node 20-24 ship; a V8 that clamps the
 * growth factor to at least 2 just keeps its default). Nothing is changed when the user gave Node
 * a semi-space or optimize-for-size flag of their own.
 */
import { setFlagsFromString } from "node:v8";

/** V8's default (flag-definitions.h), restored once the daemon has started. */
const V8_DEFAULT_GROWTH_FACTOR = 2;

/** Whether Node was started with a heap-sizing flag of the user's (command line or NODE_OPTIONS). */
function userSetHeapFlags(): boolean {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" ");
  return /semi[-_]space|optimize[-_]for[-_]size/.test(given);
}

/** Applies the start-up settings; the function returned restores V8's defaults (idempotent). */
export function startUpHeapSettings(): () => void {
  if (userSetHeapFlags()) return () => undefined;
  setFlagsFromString("--semi-space-growth-factor=1");
  setFlagsFromString("--optimize-for-size");
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH_FACTOR}`);
    setFlagsFromString("--no-optimize-for-size");
  };
}
