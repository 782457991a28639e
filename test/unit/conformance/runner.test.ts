import t from "tap";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { conformanceCases, runConformance, type ConformanceReport } from "@bkg/conformance";

const root = fileURLToPath(new URL("../../../plugin-sdk/conformance/", import.meta.url));
const fixture = (name: string) => `${root}fixtures/${name}`;
const cli = `${root}dist/cli.js`;
// tap instruments child processes through NODE_OPTIONS; the plugins do not need it and start
// several times faster without it.
const env = { NODE_OPTIONS: undefined, NODE_V8_COVERAGE: undefined };
const plainEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k in env)));

function failedNames(r: ConformanceReport): string[] {
  return r.cases.filter((c) => !c.ok).map((c) => c.name);
}

function failures(r: ConformanceReport): string {
  return r.cases
    .filter((c) => !c.ok)
    .map((c) => `${c.name}: ${c.reason}`)
    .join("\n");
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"], env: plainEnv });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const allNames = conformanceCases().map((c) => c.name);
const scripted = [
  "handshake",
  "protocol mismatch",
  "ping",
  "cancellation",
  "cancel unknown id",
  "deadline",
  "streaming",
  "bkg/call result",
  "bkg/call error",
  "bkg/emit",
  "bkg/log",
  "8 MiB request",
  "8 MiB response",
  "concurrency",
  "shutdown and exit",
  "stdin close",
  "stdout only frames",
];

t.test("the case list covers the scripted cases and the vectors", async (t) => {
  for (const name of scripted) t.ok(allNames.includes(name), name);
  t.ok(allNames.filter((n) => n.startsWith("reverse: ")).length >= 5, "reverse vectors");
  t.ok(allNames.includes("echo: _meta is stripped"), "_meta vector");
  t.ok(allNames.includes("errors: unknown method"), "unknown-method vector");
  t.ok(allNames.includes("fail: custom code and data"), "custom fail vector");
  t.equal(new Set(allNames).size, allNames.length, "case names are unique");
});

t.test("the raw node plugin passes every case", async (t) => {
  const seen: string[] = [];
  const report = await runConformance({ command: [process.execPath, fixture("raw-node-plugin.mjs")], env, onCase: (r) => seen.push(r.name) });
  t.equal(report.failed, 0, failures(report) || "no failures");
  t.equal(report.passed, allNames.length);
  t.same(
    report.cases.map((c) => c.name),
    allNames,
    "every case ran, in order",
  );
  t.same(seen, allNames, "onCase saw every case");
  for (const c of report.cases) t.type(c.ms, "number");
});

t.test("a plugin that prints to stdout fails the echo vectors and the stdout check", async (t) => {
  const report = await runConformance({ command: [process.execPath, fixture("garbage-plugin.mjs")], env });
  const expected = [...allNames.filter((n) => n.startsWith("echo: ")), "stdout only frames"];
  t.same(failedNames(report), expected, failures(report));
  for (const c of report.cases.filter((c) => !c.ok)) t.match(c.reason, /not a frame/, `${c.name} says why`);
});

t.test("a plugin that serves one call at a time fails cancellation and concurrency", async (t) => {
  const report = await runConformance({ command: [process.execPath, fixture("serial-plugin.mjs")], env });
  t.same(failedNames(report), ["cancellation", "concurrency"], failures(report));
  const byName = new Map(report.cases.map((c) => [c.name, c]));
  t.match(byName.get("cancellation")?.reason, /-32800|cancel/);
  t.match(byName.get("concurrency")?.reason, /within 2000 ms/);
});

t.test("a command that cannot start fails the cases that need it, quickly", async (t) => {
  const t0 = Date.now();
  const report = await runConformance({ command: ["/nonexistent/bkg-conformance-plugin"] });
  t.ok(Date.now() - t0 < 10_000, "no waiting on a process that never started");
  t.equal(report.cases.find((c) => c.name === "handshake")?.ok, false);
  t.match(report.cases.find((c) => c.name === "handshake")?.reason, /could not start/);
  t.equal(report.passed, 1, "only the stdout check (nothing was ever printed) passes");
});

t.test("cli", async (t) => {
  const help = await run(["--help"]);
  t.equal(help.code, 0);
  t.match(help.stdout, /usage: bkg-conformance \[--json\] \[--cwd DIR\] -- <command>/);

  const usage = await run(["--json"]);
  t.equal(usage.code, 2, "no command is a usage error");
  t.match(usage.stderr, /no plugin command/);

  const bad = await run(["--cwd", `${root}fixtures`, "--", process.execPath, "garbage-plugin.mjs"]);
  t.equal(bad.code, 1, "exit 1 when a case fails");
  const lines = bad.stdout.trimEnd().split("\n");
  t.equal(lines.length, allNames.length + 1, "one line per case and a summary");
  for (const l of lines.slice(0, -1)) t.match(l, /^(ok {3}|FAIL )\S/);
  t.ok(lines.includes(`FAIL stdout only frames: ${bad.stdout.split("FAIL stdout only frames: ")[1]?.split("\n")[0]}`));
  t.equal(lines.at(-1), `conformance: ${allNames.length - 10} passed, 10 failed`);

  const good = await run(["--json", "--", process.execPath, fixture("raw-node-plugin.mjs")]);
  t.equal(good.code, 0, good.stdout.slice(0, 2000));
  const report = JSON.parse(good.stdout) as ConformanceReport;
  t.equal(report.failed, 0);
  t.equal(report.passed, allNames.length);
});
