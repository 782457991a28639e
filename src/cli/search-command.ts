/** `bkg search COLLECTION "text"`: a BrainML query printed as a ranked table (or JSON). */
import type { Command } from "commander";
import { withClient, type GlobalOptions } from "./connect-daemon.js";
import { CliExit, EXIT, describeError, printJson, printTable } from "./output.js";

interface SearchAnswer {
  results: Array<{ rank: number; score: number; document: { id: string }; chunk: { index: number; text: string; heading?: string }; highlights: string[] }>;
  mode: string;
  latencyMs: number;
  warnings?: string[];
}

const MODES = ["fts", "vector", "hybrid"];

export function registerSearchCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command("search <collection> <text>")
    .description('search a BrainML collection and print the ranked chunks, e.g. bkg search docs "reset a password"')
    .option("--mode <mode>", "fts (full text), vector or hybrid (both, fused)", "hybrid")
    .option("--top <n>", "how many results", "10")
    .option("--filter <json>", 'metadata filters as JSON, e.g. \'[{"field":"lang","op":"eq","value":"en"}]\'')
    .option("--json", "print brainml.query's whole answer as JSON")
    .action(async (collection: string, text: string, o: { mode: string; top: string; filter?: string; json?: boolean }) => {
      if (!MODES.includes(o.mode)) throw new CliExit(EXIT.usage, `bkg: --mode must be one of ${MODES.join(", ")}, got ${o.mode}`);
      const topK = Number(o.top);
      if (!Number.isInteger(topK) || topK < 1 || topK > 1000) throw new CliExit(EXIT.usage, `bkg: --top must be a whole number from 1 to 1000, got ${o.top}`);
      let filters: unknown;
      if (o.filter !== undefined) {
        try {
          filters = JSON.parse(o.filter);
        } catch (e) {
          throw new CliExit(EXIT.usage, `bkg: --filter is not valid JSON: ${(e as Error).message}`);
        }
        if (!Array.isArray(filters)) throw new CliExit(EXIT.usage, 'bkg: --filter must be a JSON array like \'[{"field":"lang","op":"eq","value":"en"}]\'');
      }
      await withClient(globals(), async (c) => {
        let answer: SearchAnswer;
        try {
          answer = await c.call<SearchAnswer>("brainml.query", { collection, query: text, mode: o.mode, topK, ...(filters ? { filters } : {}) });
        } catch (e) {
          throw new CliExit(EXIT.error, `bkg: search: ${describeError(e)}`);
        }
        if (o.json) return printJson(answer);
        for (const w of answer.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
        if (answer.results.length === 0) {
          process.stdout.write(`no results in ${collection} (${answer.mode}, ${answer.latencyMs} ms)\n`);
          return;
        }
        printTable(
          ["RANK", "SCORE", "DOCUMENT", "CHUNK", "TEXT"],
          answer.results.map((r) => [
            r.rank,
            r.score.toFixed(4),
            r.document.id,
            r.chunk.index,
            (r.highlights[0] ?? (r.chunk.heading ? `${r.chunk.heading}: ` : "") + r.chunk.text).replace(/\s+/g, " "),
          ]),
          80,
        );
        process.stdout.write(`${answer.results.length} results, ${answer.mode}, ${answer.latencyMs} ms\n`);
      });
    });
}
