/**
 * V8 settings for the daemon's start-up only. Loading the modules and starting the plugins is a
 * burst of allocations that live on (code, manifests, the store), unlike anything the daemon
 * does afterwards: V8 answers a burst whose objects survive by doubling the young generation's
 * semi-spaces, and an idle daemon then held ~7 MiB of young generation it did not use until V8's
 * memory reducer shrank it some 10 s later. While the daemon starts, `--semi-space-growth-factor`
 * is 1 (the start-up's survivors go to the old generation, where they belong); it is back to
 * V8's default once the daemon has started, so a daemon under load grows its young generation as
 * before (a small young generation under load means a scavenge every megabyte).
 *
 * `--optimize-for-size` during the start-up was used too (about 2 MiB less idle RSS) and is not
 * any more: its effect outlived the restore. Every `process.nextTick` of the started daemon then
 * cost several times as much (the tick object literal, task_queues.js; no priming before the
 * window helped), 4-5% of the daemon's CPU per HTTP request at 64 connections (profiles in
 * docs/benchmarks.md, issue 19). `--max-opt=0` was dropped for the same reason (2x CPU per call).
 *
 * V8 reads the growth factor at each growth decision, so setting it at run time through
 * v8.setFlagsFromString takes effect, unlike `--max-semi-space-size`, which is read once when
 * the heap is made (the flag exists in every V8 that Node 20-24 ship; a V8 that clamps it to at
 * least 2 just keeps its default). Nothing is changed when the user gave Node a semi-space or
 * optimize-for-size flag of their own.
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
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH_FACTOR}`);
  };
}
