/**
 * The conformance runner's protocol-only mode (runConformance({mode: "protocol"}), CLI
 * --protocol-only): the cases any plugin must pass whatever its methods, each flaw failing
 * exactly its case, and concurrency skipped and named.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import t from "tap";
import { checkInitializeResult, conformanceCases, runConformance, type ConformanceReport } from "@bkg/conformance";
import { ROOT } from "../helpers/daemon.js";

const FIXTURE = join(ROOT, "test/sdk/fixtures/protocol-flaws.mjs");
const CLI = join(ROOT, "plugin-sdk/conformance/dist/cli.js");
// tap instruments child processes through NODE_OPTIONS; the plugins do not need it.
const env = { NODE_OPTIONS: undefined, NODE_V8_COVERAGE: undefined };

const PROTOCOL_CASES = ["handshake", "protocol mismatch", "unknown method", "ping", "cancel unknown id", "8 MiB request", "concurrency", "shutdown and exit", "stdin close", "stdout only frames"];

const run = (flaw?: string, pluginName?: string) => runConformance({ command: [process.execPath, FIXTURE, ...(flaw ? [flaw] : [])], env, mode: "protocol", pluginName });
const failed = (r: ConformanceReport) => r.cases.filter((c) => !c.ok).map((c) => c.name);
const reasons = (r: ConformanceReport) =>
  r.cases
    .filter((c) => !c.ok)
    .map((c) => `${c.name}: ${c.reason}`)
    .join("\n");

t.test("the protocol-only case list", async (t) => {
  t.same(
    conformanceCases(undefined, "protocol").map((c) => c.name),
    PROTOCOL_CASES,
  );
  t.ok(
    conformanceCases().some((c) => c.name === "concurrency" && c.skip === undefined),
    "contract mode still runs concurrency",
  );
});

t.test("a plugin without the contract's methods passes in protocol-only mode, concurrency skipped", async (t) => {
  const seen: string[] = [];
  const report = await runConformance({ command: [process.execPath, FIXTURE], env, mode: "protocol", onCase: (c) => seen.push(c.name) });
  t.equal(report.failed, 0, reasons(report) || "no failures");
  t.equal(report.passed, PROTOCOL_CASES.length - 1);
  t.equal(report.skipped, 1);
  t.same(seen, PROTOCOL_CASES, "onCase saw every case, the skipped one too");
  const skipped = report.cases.find((c) => c.skipped);
  t.equal(skipped?.name, "concurrency");
  t.match(skipped?.reason, /protocol-only.*sleep/);
});

t.test("the handshake checks of each mode", async (t) => {
  const answer = { protocolVersion: "1.0.0", name: "flawed", version: "0.1.0", methods: [{ name: "greet" }] };
  t.same(checkInitializeResult(answer, "protocol"), [], "any name and methods will do for the protocol");
  t.match(checkInitializeResult(answer).join("; "), /expected name "conformance".*methods lack echo, reverse/, "the contract mode still wants the contract");
  t.match(checkInitializeResult({ ...answer, methods: [{ name: "a", streaming: "yes" }, { name: "a" }, { paramsSchema: 1 }] }, "protocol"), [
    /"a": expected streaming to be a boolean/,
    /"a" is declared twice/,
    /non-empty string name/,
  ]);
  t.match(checkInitializeResult({ ...answer, name: "" }, "protocol"), [/name to be a non-empty string/]);
});

t.test("each flaw fails its own case", async (t) => {
  const expectations: [string, string[], RegExp][] = [
    ["bad-handshake", ["handshake"], /protocolVersion.*"1".*methods to be an array/],
    ["vague-unknown", ["unknown method"], /name the methods that exist.*"greet"/],
    ["chatty", ["unknown method", "8 MiB request", "stdout only frames"], /not a frame/],
    ["linger", ["stdin close"], /within 3000 ms of its stdin closing/],
    ["one-mib", ["8 MiB request"], /exited \(code 3\)/],
  ];
  await Promise.all(
    expectations.map(async ([flaw, cases, why]) => {
      const report = await run(flaw);
      t.same(failed(report), cases, `${flaw}: ${reasons(report)}`);
      t.match(report.cases.find((c) => c.name === cases[0])?.reason, why, `${flaw}: the reason says why`);
    }),
  );
});

t.test("pluginName is what initialize and BKG_PLUGIN_NAME carry", async (t) => {
  const named = await run("want-name=flawed", "flawed");
  t.equal(named.failed, 0, reasons(named) || "no failures");
  const unnamed = await run("want-name=flawed");
  t.ok(failed(unnamed).includes("handshake"), "the default name is conformance");
  await t.rejects(run(undefined, "Not A Name"), /pluginName must be a plugin name/);
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const penv = { ...process.env };
    delete penv.NODE_OPTIONS;
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"], env: penv });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

t.test("cli --protocol-only", async (t) => {
  const help = await cli(["--help"]);
  t.match(help.stdout, /--protocol-only/);
  t.match(help.stdout, /--name NAME/);

  const ok = await cli(["--protocol-only", "--name", "flawed", "--", process.execPath, FIXTURE, "want-name=flawed"]);
  t.equal(ok.code, 0, ok.stdout + ok.stderr);
  const lines = ok.stdout.trimEnd().split("\n");
  t.equal(lines.length, PROTOCOL_CASES.length + 1);
  t.ok(
    lines.some((l) => /^skip concurrency: protocol-only mode/.test(l)),
    "the skipped case is named",
  );
  t.equal(lines.at(-1), `conformance: ${PROTOCOL_CASES.length - 1} passed, 0 failed, 1 skipped`);

  const json = await cli(["--json", "--protocol-only", "--", process.execPath, FIXTURE, "vague-unknown"]);
  t.equal(json.code, 1);
  const report = JSON.parse(json.stdout) as ConformanceReport;
  t.same(failed(report), ["unknown method"]);
  t.equal(report.skipped, 1);

  const bad = await cli(["--protocol-only", "--name", "Bad Name", "--", "true"]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--name must be a plugin name/);
});
