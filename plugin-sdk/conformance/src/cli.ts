#!/usr/bin/env node
/**
 * bkg-conformance: runs the conformance suite against a plugin command.
 *   node plugin-sdk/conformance/dist/cli.js [--json] [--cwd DIR] [--protocol-only [--name NAME]] -- <command> [args...]
 */
import { resolve } from "node:path";
import type { CaseResult } from "./case.js";
import { runConformance } from "./runner.js";

const USAGE = `usage: bkg-conformance [--json] [--cwd DIR] -- <command> [args...]
       bkg-conformance --protocol-only [--name NAME] [--json] [--cwd DIR] -- <command> [args...]

Starts <command> as a bkg plugin (JSON-RPC 2.0 over stdio, Content-Length framing), acts as
the daemon, and checks it against docs/protocol.md and plugin-sdk/conformance/CONTRACT.md:
the handshake, a protocol mismatch, every vector in vectors/*.json, cancellation, deadlines,
streaming, bkg/call, bkg/emit, bkg/log, bkg/ping, 8 MiB messages, concurrency, shutdown,
stdin closing and a clean stdout.

  --json           print one JSON report {cases, passed, failed, skipped} instead of lines
  --cwd DIR        working directory of the plugin (default: the current one)
  --protocol-only  check only the protocol's rules, for any plugin whatever its methods:
                   handshake, protocol mismatch, unknown method, ping, cancel of unknown
                   ids, an 8 MiB frame, shutdown and exit, stdin close, clean stdout
                   (concurrency needs the contract's sleep method: it is skipped)
  --name NAME      the plugin name sent in initialize (default: conformance)
  -h, --help       show this help

Prints "ok   <case>", "FAIL <case>: <reason>" or "skip <case>: <reason>" per case, then
"conformance: N passed, M failed" (and ", K skipped"). Exits 0 only if no case failed
(1 if any failed, 2 on a usage error).

examples:
  bkg-conformance -- node plugin-sdk/conformance/fixtures/raw-node-plugin.mjs
  bkg-conformance --cwd ./my-plugin -- python3 conformance_plugin.py
  bkg-conformance --protocol-only --name hello --cwd plugins/hello -- node index.mjs
`;

interface Args {
  json: boolean;
  protocolOnly: boolean;
  name?: string;
  cwd?: string;
  command: string[];
}

function parseArgs(argv: string[]): Args | string {
  const args: Args = { json: false, protocolOnly: false, command: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      args.command = argv.slice(i + 1);
      break;
    } else if (a === "--json") args.json = true;
    else if (a === "--protocol-only") args.protocolOnly = true;
    else if (a === "--name") {
      const name = argv[++i];
      if (name === undefined) return "--name needs a plugin name";
      args.name = name;
    } else if (a.startsWith("--name=")) args.name = a.slice("--name=".length);
    else if (a === "--cwd") {
      const dir = argv[++i];
      if (dir === undefined) return "--cwd needs a directory";
      args.cwd = resolve(dir);
    } else if (a.startsWith("--cwd=")) args.cwd = resolve(a.slice("--cwd=".length));
    else if (a.startsWith("-")) return `unknown option ${a}`;
    else {
      args.command = argv.slice(i);
      break;
    }
  }
  if (args.command.length === 0) return "no plugin command given after --";
  if (args.name !== undefined && !/^[a-z][a-z0-9_-]{0,62}$/.test(args.name)) return `--name must be a plugin name (lowercase letters, digits, - and _), got ${JSON.stringify(args.name)}`;
  return args;
}

function line(r: CaseResult): string {
  if (r.skipped) return `skip ${r.name}: ${r.reason ?? "not run"}`;
  return r.ok ? `ok   ${r.name}` : `FAIL ${r.name}: ${r.reason ?? "failed"}`;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("-h") || argv.includes("--help")) {
    const dashdash = argv.indexOf("--");
    const help = argv.findIndex((a) => a === "-h" || a === "--help");
    if (dashdash < 0 || help < dashdash) {
      process.stdout.write(USAGE);
      return 0;
    }
  }
  const args = parseArgs(argv);
  if (typeof args === "string") {
    process.stderr.write(`bkg-conformance: ${args}\n\n${USAGE}`);
    return 2;
  }
  const abort = new AbortController();
  const stop = () => {
    process.stderr.write("bkg-conformance: interrupted, stopping the plugin\n");
    process.exitCode = 130;
    abort.abort();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const report = await runConformance({
    command: args.command,
    cwd: args.cwd,
    mode: args.protocolOnly ? "protocol" : "contract",
    pluginName: args.name,
    signal: abort.signal,
    onCase: args.json ? undefined : (r) => process.stdout.write(`${line(r)}\n`),
  });
  if (args.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`conformance: ${report.passed} passed, ${report.failed} failed${report.skipped ? `, ${report.skipped} skipped` : ""}\n`);
  if (abort.signal.aborted) return 130;
  return report.failed === 0 ? 0 : 1;
}

process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 1); // the reader went away (| head)
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bkg-conformance: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  },
);
