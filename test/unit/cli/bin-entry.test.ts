/**
 * bin/bkg runs the CLI's bundle (dist/bundle/, `npm run bundle`) when it is at least as new as
 * the last `tsc -b`, and the modules in dist/ otherwise, so a stale bundle never runs.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { ROOT } from "../../helpers/daemon.js";

t.test("the bundle runs only when it is as new as the compiled modules", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-bin-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "bin"));
  mkdirSync(join(dir, "dist", "cli"), { recursive: true });
  copyFileSync(join(ROOT, "bin", "bkg"), join(dir, "bin", "bkg"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(join(dir, "dist", "cli", "main.js"), 'process.stdout.write("modules");');
  const buildInfo = join(dir, "dist", "tsconfig.tsbuildinfo");
  writeFileSync(buildInfo, "{}");
  const ran = () => spawnSync(process.execPath, [join(dir, "bin", "bkg")], { encoding: "utf8" }).stdout;

  t.equal(ran(), "modules", "no bundle: the modules");
  mkdirSync(join(dir, "dist", "bundle"));
  const bundle = join(dir, "dist", "bundle", "main.js");
  writeFileSync(bundle, 'process.stdout.write("bundle");');
  utimesSync(buildInfo, new Date(1_000_000), new Date(1_000_000));
  t.equal(ran(), "bundle", "a bundle newer than the last tsc -b: the bundle");
  utimesSync(bundle, new Date(500_000), new Date(500_000));
  t.equal(ran(), "modules", "a tsc -b since the bundle was made: the modules");
});

t.test("after npm run build, the repository's bin/bkg runs the bundle", async (t) => {
  const log = join(mkdtempSync(join(tmpdir(), "bkg-bin-")), "loaded.txt");
  t.teardown(() => rmSync(join(log, ".."), { recursive: true, force: true }));
  // A loader hook that notes every file node loads as an ES module.
  const hook = `export async function load(url, context, next) { (await import("node:fs")).appendFileSync(${JSON.stringify(log)}, url + "\\n"); return next(url, context); }`;
  const register = `import { register } from "node:module"; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
  const r = spawnSync(process.execPath, ["--import", `data:text/javascript,${encodeURIComponent(register)}`, join(ROOT, "bin", "bkg"), "--version"], { encoding: "utf8" });
  t.equal(r.status, 0, r.stderr);
  const loaded = readFileSync(log, "utf8")
    .split("\n")
    .filter((u) => u.includes("/dist/"));
  t.ok(
    loaded.some((u) => u.endsWith("/dist/bundle/main.js")),
    "the bundle's entry",
  );
  t.same(
    loaded.filter((u) => !u.includes("/dist/bundle/") && !u.includes("/src/protocol/dist/")),
    [],
    "no module of dist/ outside the bundle",
  );
});
