/** The value after `name` on the command line (`--runs 6`), or undefined: the bench tools' options. */
export function argValue(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}
