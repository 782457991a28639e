/**
 * The mix-ups people make between `bkg plugin` (create one) and `bkg plugins` (run them), and
 * the commands other tools taught them, answered with the command they meant.
 */
const PLUGINS_VERBS = new Set(["list", "ls", "info", "start", "stop", "restart", "reload", "logs"]);
const PLUGIN_VERBS = new Set(["new", "create", "init"]);
/** Global options that take a value: their value is not a command word. */
const VALUED = new Set(["-c", "--config", "--socket"]);

/** The command words of argv (after node and the script), without global options. */
function words(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (VALUED.has(a)) i++;
    else if (!a.startsWith("-")) out.push(a);
  }
  return out;
}

/** The first command word of argv (`daemon` in `bkg --config x daemon start`), if any. */
export function commandWord(argv: string[]): string | undefined {
  return words(argv)[0];
}

/** A "did you mean" line for argv, or undefined when argv is not a known mix-up. */
export function didYouMean(argv: string[]): string | undefined {
  const [first, second] = words(argv);
  if (first === "plugin" && second && PLUGINS_VERBS.has(second)) return `bkg plugins ${second === "ls" ? "list" : second}`;
  if (first === "plugins" && second && PLUGIN_VERBS.has(second)) return "bkg plugin new";
  if (first === "plugins" && second === "ls") return "bkg plugins list";
  if ((first === "ps" || first === "ls" || first === "list") && !second) return "bkg plugins list";
  if ((first === "start" || first === "stop" || first === "restart" || first === "reload") && second) return `bkg plugins ${first} ${second}`;
  if (first === "log") return `bkg logs${second ? ` ${second}` : ""}`;
  return undefined;
}
