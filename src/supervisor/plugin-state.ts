/**
 * The plugin-level state machine as data: which state may follow which. PluginHost moves only
 * along these edges (a test walks the table); docs/supervision.md draws the same graph.
 */
import type { PluginState } from "../events/index.js";

// "stopping" follows any state: stop() (bkg plugins stop, the daemon shutting down) goes through it
// even when nothing runs. A swap that began in "ready" completes ("swapped") even when a restart of
// the old generation moved the plugin to "restarting" and back to "ready" meanwhile.
const EDGES: Record<PluginState, readonly PluginState[]> = {
  invalid: ["starting", "building", "idle", "stopped", "blocked", "disabled", "stopping"],
  blocked: ["starting", "building", "idle", "stopped", "invalid", "disabled", "stopping"],
  disabled: ["starting", "building", "idle", "stopped", "invalid", "blocked", "stopping"],
  idle: ["starting", "building", "stopping", "stopped", "invalid", "blocked", "disabled"],
  stopped: ["starting", "building", "idle", "invalid", "blocked", "disabled"],
  // A build runs before a start, and before a hot swap while the old version keeps serving: then
  // the old generation may restart, crash or hang meanwhile, and a failed build returns to "ready".
  building: ["starting", "swapping", "ready", "build-failed", "crashed", "restarting", "crashloop", "unresponsive", "failed", "stopping", "stopped"],
  "build-failed": ["building", "starting", "stopped", "stopping", "invalid", "idle", "blocked", "disabled"],
  starting: ["ready", "crashed", "restarting", "crashloop", "failed", "stopping", "stopped"],
  ready: ["unresponsive", "crashed", "restarting", "building", "swapping", "swapped", "stopping", "crashloop", "idle", "stopped", "failed"],
  unresponsive: ["ready", "crashed", "restarting", "stopping", "crashloop", "building", "swapping", "failed"],
  crashed: ["restarting", "crashloop", "stopped", "stopping", "ready", "failed", "building"],
  restarting: ["starting", "ready", "crashed", "crashloop", "failed", "stopping", "stopped", "building", "swapping", "swapped"],
  crashloop: ["starting", "building", "stopped", "stopping", "invalid", "idle"],
  failed: ["starting", "building", "stopped", "stopping", "invalid", "idle"],
  swapping: ["swapped", "ready", "crashed", "restarting", "stopping", "crashloop", "unresponsive", "failed"],
  swapped: ["ready", "building", "swapping", "stopping", "crashed", "restarting"],
  stopping: ["stopped", "idle"],
};

/** May a plugin go from `from` to `to`? Staying in a state is always allowed (a new reason). */
export function canTransition(from: PluginState, to: PluginState): boolean {
  return from === to || EDGES[from].includes(to);
}

/** States in which calls are refused with -33000 instead of waiting. */
export const UNAVAILABLE: ReadonlySet<PluginState> = new Set(["invalid", "blocked", "disabled", "stopped", "crashloop", "failed", "build-failed", "stopping"]);

export const ALL_STATES = Object.keys(EDGES) as PluginState[];
export { EDGES as STATE_EDGES };
