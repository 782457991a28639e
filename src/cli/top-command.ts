/**
 * bkg top: a live view of every plugin (state, instances, calls/s, p50/p99, errors, RSS, CPU,
 * restarts), redrawn every interval until q or Ctrl-C. --once (or output that is not a
 * terminal) prints one screen and exits; --json prints the raw snapshot.
 */
import type { Command } from "commander";
import { withClient, type GlobalOptions } from "./connect-daemon.js";
import { printJson } from "./output.js";
import { renderTop } from "./top-view.js";

export function registerTopCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command("top")
    .description("a live view of every plugin: state, instances, calls/s, latency, errors, RSS, CPU, restarts")
    .option("--once", "print one screen and exit (the default when stdout is not a terminal)")
    .option("-i, --interval <ms>", "refresh interval", "1000")
    .option("--json", "print the snapshot as JSON and exit")
    .action((o: { once?: boolean; interval: string; json?: boolean }) =>
      withClient(globals(), async (c) => {
        if (o.json) return printJson(await c.telemetry.live());
        if (o.once || !process.stdout.isTTY) {
          process.stdout.write(`${renderTop(await c.telemetry.live(), process.stdout.columns || 160).join("\n")}\n`);
          return;
        }
        const interval = Math.max(200, Number(o.interval) || 1000);
        await new Promise<void>((resolve) => {
          let timer: NodeJS.Timeout | undefined;
          const stop = () => {
            clearTimeout(timer);
            process.stdin.setRawMode?.(false);
            process.stdin.pause();
            process.stdout.write("\x1b[?25h\n");
            resolve();
          };
          const draw = async () => {
            try {
              const lines = renderTop(await c.telemetry.live(), process.stdout.columns || 120);
              process.stdout.write(`\x1b[H\x1b[2J\x1b[?25l${lines.join("\n")}\n\n(q to quit)`);
              timer = setTimeout(() => void draw(), interval);
            } catch (e) {
              process.stdout.write(`\nbkg top: ${(e as Error).message}\n`);
              stop();
            }
          };
          if (process.stdin.isTTY) {
            process.stdin.setRawMode(true);
            process.stdin.resume();
            process.stdin.on("data", (b) => {
              const k = b.toString();
              if (k === "q" || k === "\x03" || k === "\x1b") stop();
            });
          }
          process.once("SIGINT", stop);
          c.onClose(stop);
          void draw();
        });
      }),
    );
}
