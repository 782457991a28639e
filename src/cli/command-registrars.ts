/**
 * Which module registers each top-level command. main.ts loads only the one for the command
 * being run, so a long-running `bkg daemon start` does not keep the other commands, the plugin
 * scaffolder and the model-pull progress view in memory (about 1.5 MiB of the daemon's RSS);
 * help, --version and an unknown word load them all.
 */
import type { Command } from "commander";
import type { GlobalOptions } from "./connect-daemon.js";

export type Registrar = (program: Command, globals: () => GlobalOptions) => void;

const daemon = async () => (await import("./daemon-commands.js")).registerDaemonCommands;
const status = async () => (await import("./status-command.js")).registerStatusCommand;
const plugins = async () => (await import("./plugin-commands.js")).registerPluginCommands;
const pluginNew = async () => (await import("./plugin-new-command.js")).registerPluginNewCommand;
const dev = async () => (await import("./dev-command.js")).registerDevCommand;
const call = async () => (await import("./call-command.js")).registerCallCommand;
const auth = async () => (await import("./auth-commands.js")).registerAuthCommands;
const events = async () => (await import("./events-command.js")).registerEventsCommand;
const trace = async () => (await import("./trace-command.js")).registerTraceCommand;
const top = async () => (await import("./top-command.js")).registerTopCommand;
const logs = async () => (await import("./logs-command.js")).registerLogsCommand;
const models = async () => (await import("./model-commands.js")).registerModelCommands;
const search = async () => (await import("./search-command.js")).registerSearchCommand;

/** Every registrar, in the order --help lists their commands. */
const ALL = [daemon, status, plugins, pluginNew, dev, call, auth, events, trace, top, logs, models, search];

/** Top-level command word -> its registrar (auth-commands registers two words). */
const BY_WORD: Record<string, () => Promise<Registrar>> = {
  daemon,
  status,
  plugins,
  plugin: pluginNew,
  dev,
  call,
  users: auth,
  keys: auth,
  events,
  trace,
  top,
  logs,
  models,
  search,
};

/** The registrars to load for a command word (all of them when it is absent or unknown). */
export async function registrarsFor(word: string | undefined): Promise<Registrar[]> {
  const one = word !== undefined && Object.hasOwn(BY_WORD, word) ? BY_WORD[word] : undefined;
  return Promise.all(one ? [one()] : ALL.map((load) => load()));
}
