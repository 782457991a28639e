/** bkg trace ID | bkg trace list: the daemon's recent traces (docs/tracing.md). */
import type { Command } from "commander";
import { withClient, type GlobalOptions } from "./connect-daemon.js";
import { CliExit, EXIT, printJson, printTable } from "./output.js";
import { traceTree } from "./trace-tree.js";

interface TraceOptions {
  json?: boolean;
  limit: string;
}

const TRACE_ID = /^[0-9a-fA-F]{32}$/;

export function registerTraceCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command("trace")
    .description("a recent trace as a tree of spans (bkg trace ID), or the recent traces (bkg trace list)")
    .argument("<id|list>", "a trace id (32 hex digits, as in traceparent 00-<trace id>-<span id>-01), or list")
    .option("--json", "print the answer as JSON (the shape of GET /api/traces and /api/traces/:id)")
    .option("-n, --limit <n>", "with list: at most this many traces, the most recently active first", "20")
    .addHelpText(
      "after",
      "\nThe daemon keeps its last telemetry.tracing.bufferTraces traces in memory (sampled calls only).\nExamples:\n  bkg trace list\n  bkg trace 4bf92f3577b34da6a3ce929d0e0e4736 --json",
    )
    .action((id: string, o: TraceOptions) => {
      if (id === "list") {
        const limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new CliExit(EXIT.usage, `--limit must be a whole number >= 1, got ${JSON.stringify(o.limit)}`);
        return withClient(globals(), async (c) => {
          const { traces } = await c.traces.list(limit);
          if (o.json) return printJson({ traces });
          if (!traces.length) return void process.stdout.write('no traces yet: make a call (bkg call echo.reverse \'{"text":"hi"}\'), then look again\n');
          printTable(
            ["TRACE", "ROOT", "STARTED", "DURATION", "SPANS", "ERROR"],
            traces.map((t) => [t.traceId, t.root, new Date(t.startedAt).toISOString().slice(11, 23), `${t.durationMs.toFixed(2)} ms`, t.spanCount, t.error ? "yes" : ""]),
          );
        });
      }
      if (!TRACE_ID.test(id)) throw new CliExit(EXIT.usage, `"${id}" is not a trace id: give 32 hex digits (the second field of a traceparent) or "list"`);
      return withClient(globals(), async (c) => {
        const trace = await c.traces.get(id.toLowerCase());
        if (o.json) return printJson(trace);
        process.stdout.write(`${traceTree(trace).join("\n")}\n`);
      });
    });
}
