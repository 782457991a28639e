/**
 * Keeps the daemon's start-up from sizing its young generation. Loading the modules and starting
 * the plugins allocates a burst of objects that live on (code, manifests, the store), and V8
 * answers a burst whose objects survive by doubling the semi-spaces: an idle daemon then held
 * ~7 MiB of young generation it did not use until V8's memory reducer shrank it some 10 s later.
 * The semi-spaces keep their initial size while the daemon starts (the start-up's survivors
 * go to the old generation, where they belong), and V8's usual growth (factor 2) is back once it
 * has started, so a daemon under load grows its young generation as before (a small one under
 * load means a scavenge every megabyte: more CPU per call).
 *
 * `--semi-space-growth-factor` is read by V8 each time it grows the new space, so setting it at
 * run time takes effect (unlike `--max-semi-space-size`, read once when the heap is made).
 * Nothing is changed when the user gave Node a semi-space flag of their own.
 */
import { setFlagsFromString } from "node:v8";

const V8_DEFAULT_GROWTH_FACTOR = 2;

/** Whether Node was started with a semi-space setting of the user's (command line or NODE_OPTIONS). */
function userSetSemiSpace(): boolean {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" ");
  return /semi[-_]space/.test(given);
}

/** Stops the young generation from growing; the function returned lets it grow again. */
export function holdYoungGeneration(): () => void {
  if (userSetSemiSpace()) return () => undefined;
  setFlagsFromString("--semi-space-growth-factor=1");
  let released = false;
  return () => {
    if (released) return;
    released = true;
    setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH_FACTOR}`);
  };
}
