/** The value after `name` on the command line (`--runs 6`), or undefined: the bench tools' options. */
export function argValue(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The command line's words that are neither an option nor the value of one of `valued` (options that take a value). */
export function positionalArgs(valued: readonly string[]): string[] {
  const args = process.argv.slice(2);
  return args.filter((a, i) => !a.startsWith("--") && !valued.includes(args[i - 1]));
}
