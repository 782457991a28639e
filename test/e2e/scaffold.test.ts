/**
 * `bkg plugin new` for TypeScript and Python (Rust: scaffold-rust.test.ts), generated outside
 * the checkout and used with no edits: the scaffold's own test passes, and its plugin, started
 * with its manifest's command, passes the conformance suite's protocol-only mode.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t, { type Test } from "tap";
import { runConformance, type ConformanceReport } from "@bkg/conformance";
import { ROOT } from "../helpers/daemon.js";
import { bkg, daemonCommand, plainEnv, run, scratch } from "../sdk/helpers/scaffold-env.js";

const { dir, config } = scratch("bkg-scaffold-");
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** exit 0, with the output only when it is not. */
const exitedOk = (t: Test, r: { code: number | null; out: string }, what: string) => t.equal(r.code, 0, r.code === 0 ? `${what}: exit 0` : `${what}:\n${r.out}`);
const manifestOf = (file: string) => JSON.parse(readFileSync(file, "utf8")) as { name: string; command: string[]; cwd?: string; provides: string[]; watch: string[] };
const failures = (r: ConformanceReport) =>
  r.cases
    .filter((c) => !c.ok)
    .map((c) => `${c.name}: ${c.reason}`)
    .join("\n");

async function conformance(t: Test, name: string, command: string[], cwd: string) {
  const report = await runConformance({ command: daemonCommand(command), cwd, env: plainEnv(), mode: "protocol", pluginName: name });
  t.equal(report.failed, 0, failures(report) || `${name}: ${report.passed} passed, ${report.skipped} skipped`);
  t.equal(report.passed, 9, "every protocol case ran");
  t.same(
    report.cases.filter((c) => c.skipped).map((c) => c.name),
    ["concurrency"],
  );
}

t.test("TypeScript, with --dir: manifest beside the plugin, runs from source", async (t) => {
  const pluginDir = join(dir, "hello-ts");
  const r = await bkg(config, ["plugin", "new", "hello", "--lang", "ts", "--dir", pluginDir]);
  exitedOk(t, r, "bkg plugin new");
  t.match(r.out, /created hello, a TypeScript plugin/);
  t.match(r.out, /npm install/, "outside the checkout, it says to install the SDK");
  t.match(r.out, /bkg dev /);
  for (const f of ["src/index.ts", "test/plugin.test.ts", "package.json", "tsconfig.json", "README.md", ".gitignore", "bkg.plugin.json"]) {
    t.ok(existsSync(join(pluginDir, f)), f);
  }
  const m = manifestOf(join(pluginDir, "bkg.plugin.json"));
  t.same(m.command, ["node", "--import", "tsx", "src/index.ts"]);
  t.equal(m.cwd, undefined, "no cwd: the plugin's own folder");
  t.same(m.provides, ["greet"]);
  t.ok(m.watch.length > 0, "watch globs for hot swaps");
  const pkg = JSON.parse(readFileSync(join(pluginDir, "package.json"), "utf8"));
  t.equal(pkg.dependencies["@bkg/plugin-sdk"], `file:${join(ROOT, "plugin-sdk/typescript")}`, "the SDK of this checkout, by absolute path");
  t.ok(pkg.devDependencies.tsx, "tsx runs the sources");

  const test = await run("npm", ["test"], { cwd: pluginDir });
  exitedOk(t, test, "npm test");
  t.match(test.out, /# pass 1/);
  const typecheck = await run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", pluginDir]);
  exitedOk(t, typecheck, "tsc --noEmit");
  await conformance(t, "hello", m.command, pluginDir);
});

t.test("Python, by default: plugin in plugins/NAME, manifest in the manifests folder", async (t) => {
  const r = await bkg(config, ["plugin", "new", "hellopy", "--lang", "python"], { cwd: dir });
  exitedOk(t, r, "bkg plugin new");
  t.match(r.out, /created hellopy, a Python plugin, in plugins\/hellopy/);
  t.match(r.out, /manifests\/hellopy\.json {3}\(the manifest\)/);
  const pluginDir = join(dir, "plugins", "hellopy");
  const file = join(dir, "manifests", "hellopy.json");
  const m = manifestOf(file);
  t.equal(m.cwd, "../plugins/hellopy", "cwd relative to the manifest");
  t.same(m.command, ["python3", "plugin.py"]);
  t.notOk(existsSync(join(pluginDir, "bkg.plugin.json")), "one manifest only");
  t.match(readFileSync(join(pluginDir, "plugin.py"), "utf8"), JSON.stringify(join(ROOT, "plugin-sdk/python/src")), "falls back to this checkout's SDK");

  const test = await run("python3", ["-m", "pytest", "-q", "-p", "no:cacheprovider"], { cwd: pluginDir });
  exitedOk(t, test, "pytest");
  t.match(test.out, /1 passed/);
  await conformance(t, "hellopy", m.command, join(dir, "manifests", m.cwd!));
});

t.test("mistakes get one line and exit 1, and nothing is overwritten", async (t) => {
  const cases: [string[], RegExp][] = [
    [["plugin", "new", "Hello"], /invalid plugin name "Hello"/],
    [["plugin", "new", "x", "--lang", "cobol", "--dir", join(dir, "x")], /unknown language "cobol": use ts, python or rust/],
    [["plugin", "new", "again", "--dir", join(dir, "hello-ts")], /hello-ts already exists and is not empty/],
    [["plugin", "new", "hellopy", "--lang", "rust"], /already exists/],
  ];
  writeFileSync(join(dir, "manifests", "taken.json"), "{}");
  cases.push([["plugin", "new", "taken", "--lang", "python"], /a manifest for taken already exists/]);
  const [json, ...results] = await Promise.all([
    bkg(config, ["plugin", "new", "viajson", "--lang", "python", "--dir", join(dir, "viajson"), "--json"]),
    ...cases.map(([args]) => bkg(config, args, { cwd: dir })),
  ]);
  cases.forEach(([args, why], i) => {
    const r = results[i];
    t.equal(r.code, 1, args.join(" "));
    t.match(r.out, why);
    t.equal(r.out.trim().split("\n").length, 1, "one line");
  });
  t.notOk(existsSync(join(dir, "plugins", "taken")), "no plugin folder was started");

  exitedOk(t, json, "--json");
  const res = JSON.parse(json.out);
  t.equal(res.manifestFile, join(dir, "viajson", "bkg.plugin.json"));
  t.equal(res.standalone, true);
  t.equal(res.files.at(-1), res.manifestFile, "the manifest is written last");
});
