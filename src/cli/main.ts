/** bin/bkg: parses argv and runs one command. Every failure ends in one clear line and an exit code. */
import { Command, CommanderError } from "commander";
import { VERSION } from "../version.js";
import { registrarsFor } from "./command-registrars.js";
import type { GlobalOptions } from "./connect-daemon.js";
import { commandWord, didYouMean } from "./did-you-mean.js";
import { CliExit, EXIT } from "./output.js";

export async function main(argv: string[]): Promise<number> {
  const program = new Command("bkg")
    .description("bkg: a plugin runtime. Runs every plugin as its own process and routes calls to them.")
    .version(VERSION, "-v, --version")
    .option("-c, --config <file>", "bkg.config.json to use (default: BKG_CONFIG, else the nearest bkg.config.json in this folder or a parent)")
    .option("--socket <path>", "the daemon's socket (default: from the config)")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  const globals = () => program.opts<GlobalOptions>();
  for (const register of await registrarsFor(commandWord(argv))) register(program, globals);
  for (const c of program.commands) c.exitOverride();
  for (const c of program.commands.flatMap((c) => c.commands)) c.exitOverride();

  const meant = didYouMean(argv);
  if (meant) {
    process.stderr.write(`bkg: unknown command "${argv.slice(2).join(" ")}". Did you mean \`${meant}\`?\n`);
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CliExit) {
      process.stderr.write(`${e.message}\n`);
      return e.code;
    }
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    process.stderr.write(`bkg: ${(e as Error).message}\n`);
    return EXIT.error;
  }
}

// `bkg ... | head` closes the pipe early: that is the reader's choice, not a failure.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(EXIT.ok);
  throw e;
});

const code = await main(process.argv);
// Long-running commands (daemon start, logs -f) settle their own exit; the rest end here.
process.exitCode = code;
if (code !== 0) process.exit(code);
