/**
 * The plugin-level state machine as data: which state may follow which. PluginHost moves only
 * along these edges (a test walks the table); docs/supervision.md draws the same graph.
 */
import type { PluginState } from "../events/index.js";

// "stopping" follows any state: stop() (bkg plugins stop, the daemon shutting down) goes through it
// even when nothing runs. A swap that began in "ready" completes ("swapped") even when a restart of
// the old generation moved the plugin to "restarting" and back to "ready" meanwhile.
const EDGES: Record<PluginState, readonly PluginState[]> = {
  invalid: ["starting", "idle", "stopped", "blocked", "disabled", "stopping"],
  blocked: ["starting", "idle", "stopped", "invalid", "disabled", "stopping"],
  disabled: ["starting", "idle", "stopped", "invalid", "blocked", "stopping"],
  idle: ["starting", "stopping", "stopped", "invalid", "blocked", "disabled"],
  stopped: ["starting", "idle", "invalid", "blocked", "disabled"],
  starting: ["ready", "crashed", "restarting", "crashloop", "failed", "stopping", "stopped"],
  ready: ["unresponsive", "crashed", "restarting", "swapping", "swapped", "stopping", "crashloop", "idle", "stopped", "failed"],
  unresponsive: ["ready", "crashed", "restarting", "stopping", "crashloop", "swapping", "failed"],
  crashed: ["restarting", "crashloop", "stopped", "stopping", "ready", "failed"],
  restarting: ["starting", "ready", "crashed", "crashloop", "failed", "stopping", "stopped", "swapping", "swapped"],
  crashloop: ["starting", "stopped", "stopping", "invalid", "idle"],
  failed: ["starting", "stopped", "stopping", "invalid", "idle"],
  swapping: ["swapped", "ready", "crashed", "restarting", "stopping", "crashloop", "unresponsive", "failed"],
  swapped: ["ready", "swapping", "stopping", "crashed", "restarting"],
  stopping: ["stopped", "idle"],
};

/** May a plugin go from `from` to `to`? Staying in a state is always allowed (a new reason). */
export function canTransition(from: PluginState, to: PluginState): boolean {
  return from === to || EDGES[from].includes(to);
}

/** States in which calls are refused with -33000 instead of waiting. */
export const UNAVAILABLE: ReadonlySet<PluginState> = new Set(["invalid", "blocked", "disabled", "stopped", "crashloop", "failed", "stopping"]);

export const ALL_STATES = Object.keys(EDGES) as PluginState[];
export { EDGES as STATE_EDGES };
