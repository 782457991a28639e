/**
 * The node flags the daemon runs with, however bkg starts it: bin/bkg's own first lines (a
 * foreground `bkg daemon start`), `--detach` (and `bkg dev`, which detaches), the systemd units
 * and the container image. A flag the user already gave node is theirs to keep.
 *
 * --max-semi-space-size=32: V8's young generation at up to 32 MiB per semi-space instead of
 * node's 16. Every routed call leaves a few KB of short-lived garbage, and a scavenge costs what
 * survives it, not what died: with twice the room a busy daemon scavenges half as often. Measured
 * (docs/benchmarks.md, 2026-12-04): +7% HTTP req/s at 64 connections and +10-20% socket calls/s
 * at 64 in flight; RSS idle the same, under load ~27 MiB more. V8 reads this flag only when the
 * heap is made, so it must be on node's command line (v8.setFlagsFromString is too late).
 *
 * --v8-pool-size=1: one V8 background thread instead of node's four. The daemon runs its
 * JavaScript on one thread over a heap of tens of MiB; its concurrent marking, parallel
 * scavenges and background compiles keep one helper busy, not four, and each idle helper holds
 * its own malloc arena and stack. Measured (docs/benchmarks.md, 2026-12-04): ~1 MiB less idle
 * RSS; HTTP req/s at 64 connections 0.99x and 1.05x, socket calls/s level. Read at start-up.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=32", "--v8-pool-size=1"];

/** "--max_semi_space_size=8" and "--max-semi-space-size" name the same V8 flag. */
const flagName = (arg: string) => arg.split("=")[0].replace(/_/g, "-");

/**
 * DAEMON_NODE_FLAGS less those the user set (in NODE_OPTIONS, which a command-line flag would
 * override), with the values this process runs with where it was given its own.
 */
export function daemonNodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ""): string[] {
  const fromEnv = new Set(nodeOptions.split(/\s+/).filter(Boolean).map(flagName));
  const out: string[] = [];
  for (const flag of DAEMON_NODE_FLAGS) {
    const name = flagName(flag);
    if (fromEnv.has(name)) continue;
    out.push(execArgv.find((a) => flagName(a) === name) ?? flag);
  }
  return out;
}
