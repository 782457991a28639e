import type { Command } from "commander";
import { withClient, type GlobalOptions } from "./connect-daemon.js";
import { CliExit, EXIT, describeError } from "./output.js";

export function registerCallCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command("call <method> [params]")
    .description('call plugin.method with JSON params, e.g. bkg call echo.reverse \'{"text":"hi"}\'')
    .option("--stream", "print streamed values as JSON lines before the result")
    .option("--timeout <ms>", "deadline for the call in ms (default: the plugin's timeouts.call)")
    .option("--json", "print the result as JSON even when it is a string")
    .action(async (method: string, raw: string | undefined, o: { stream?: boolean; timeout?: string; json?: boolean }) => {
      let params: unknown = {};
      if (raw !== undefined) {
        try {
          params = JSON.parse(raw);
        } catch (e) {
          throw new CliExit(EXIT.usage, `bkg: params are not valid JSON: ${(e as Error).message}\n  got: ${raw}`);
        }
        if (!params || typeof params !== "object" || Array.isArray(params)) throw new CliExit(EXIT.usage, `bkg: params must be a JSON object, like '{"text":"hi"}'`);
      }
      const timeoutMs = o.timeout === undefined ? undefined : Number(o.timeout);
      if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new CliExit(EXIT.usage, `bkg: --timeout must be a positive number of ms, got ${o.timeout}`);
      await withClient(globals(), async (c) => {
        const ac = new AbortController();
        const onSigint = () => ac.abort();
        process.once("SIGINT", onSigint);
        try {
          const result = await c.call(method, params as Record<string, unknown>, {
            timeoutMs,
            signal: ac.signal,
            onProgress: o.stream ? (v) => process.stdout.write(`${JSON.stringify(v)}\n`) : undefined,
          });
          process.stdout.write(`${typeof result === "string" && !o.json ? result : JSON.stringify(result, null, o.json || o.stream ? 0 : 2)}\n`);
        } catch (e) {
          // Most of the daemon's messages start with the method already; say it once.
          const named = e instanceof Error && e.message.startsWith(method);
          throw new CliExit(EXIT.error, named ? `bkg: ${describeError(e)}` : `bkg: ${method}: ${describeError(e)}`);
        } finally {
          process.off("SIGINT", onSigint);
        }
      });
    });
}
