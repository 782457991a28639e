export { Supervisor, type SupervisorDeps, type PluginSummary, type PluginInfo, type InstanceSummary } from "./supervisor.js";
export { PluginHost, type LastExit } from "./plugin-host.js";
export { PluginInstance, type CallLink, type InstanceExit } from "./plugin-instance.js";
export { decide, describeExit, isFailure, EMPTY_HISTORY, type ExitInfo, type RestartDecision, type RestartHistory } from "./restart-policy.js";
export { canTransition, ALL_STATES, STATE_EDGES, UNAVAILABLE } from "./plugin-state.js";
export { pluginEnv, pluginArgv } from "./spawn-plugin.js";
