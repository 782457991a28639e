/**
 * Issue 21.1: one lint and format gate for the three languages, run by npm test.
 * - TypeScript: biome (lint + format, biome.jsonc; the dashboard is checked by `ng build`);
 * - Python: ruff check and ruff format --check (plugin-sdk/python, plugins/repoagent);
 * - Rust: cargo fmt --check for every crate, cargo clippy -D warnings for the SDK here; the
 *   plugins (candle, rustyface) are clippy-checked by every test build of them (test/helpers/cargo.ts);
 * - Go: gofmt and go vet for deploy/check.
 * Each gate is also shown failing once, on a file written to break it, so a gate that silently
 * checks nothing fails here.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { cargoTestBuildEnv } from "../helpers/cargo.js";
import { runCommand } from "../helpers/command.js";
import { ROOT } from "../helpers/daemon.js";

t.setTimeout(10 * 60_000);

const BIOME = join(ROOT, "node_modules", ".bin", "biome");
const PYTHON_PROJECTS = ["plugin-sdk/python", "plugins/repoagent"];
const RUST_CRATES = ["plugin-sdk/rust", "plugins/candle", "plugins/rustyface"];

const run = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) => runCommand(cmd, args, { cwd, env });

t.test("TypeScript: biome ci (lint and format) is clean", async (t) => {
  const r = await run(BIOME, ["ci", "--max-diagnostics=50", "."], ROOT);
  t.equal(r.code, 0, "biome ci: fix with `npx biome check --write .`", { output: r.out.slice(-8000) });
});

t.test("Python: ruff check and ruff format --check are clean", async (t) => {
  for (const dir of PYTHON_PROJECTS) {
    const check = await run("python3", ["-m", "ruff", "check", "."], join(ROOT, dir));
    t.equal(check.code, 0, `ruff check in ${dir}`, { output: check.out.slice(-6000) });
    const format = await run("python3", ["-m", "ruff", "format", "--check", "."], join(ROOT, dir));
    t.equal(format.code, 0, `ruff format --check in ${dir}: fix with \`ruff format\``, { output: format.out.slice(-6000) });
  }
});

t.test("Rust: cargo fmt --check for every crate, clippy -D warnings for the SDK", async (t) => {
  for (const dir of RUST_CRATES) {
    const fmt = await run("cargo", ["fmt", "--check"], join(ROOT, dir));
    t.equal(fmt.code, 0, `cargo fmt --check in ${dir}: fix with \`cargo fmt\``, { output: fmt.out.slice(-6000) });
  }
  // The plugins' crates are linted by their test builds (clippy-driver as cargo's workspace
  // wrapper, test/helpers/cargo.ts): a separate `cargo clippy` would check their large dependency
  // trees (candle, ort) again from scratch, minutes on a clean 2-core machine.
  const clippy = await run("cargo", ["clippy", "--all-targets", "--quiet", "--", "-D", "warnings"], join(ROOT, "plugin-sdk/rust"));
  t.equal(clippy.code, 0, "cargo clippy -D warnings in plugin-sdk/rust", { output: clippy.out.slice(-8000) });
});

t.test("Go: gofmt and go vet are clean in deploy/check", async (t) => {
  const dir = join(ROOT, "deploy", "check");
  const fmt = await run("gofmt", ["-l", "."], dir);
  t.equal(fmt.code, 0, "gofmt runs", { output: fmt.out });
  t.equal(fmt.out.trim(), "", "gofmt -l lists no file: fix with `gofmt -w deploy/check`");
  const vet = await run("go", ["vet", "-mod=readonly", "./..."], dir);
  t.equal(vet.code, 0, "go vet ./...", { output: vet.out.slice(-6000) });
});

t.test("each gate fails on a file written to break it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-lint-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  mkdirSync(join(dir, "src"));
  copyFileSync(join(ROOT, "biome.jsonc"), join(dir, "biome.jsonc"));
  writeFileSync(join(dir, "src", "bad.ts"), 'const  greeting = "hello, " + name;\nexport   { greeting }\n');
  const biome = await run(BIOME, ["ci", "--vcs-enabled=false", "src/bad.ts"], dir);
  t.not(biome.code, 0, "biome refuses badly formatted TypeScript");
  t.match(biome.out, /useTemplate/, "and names the lint rule it breaks");

  writeFileSync(join(dir, "bad.py"), "import os, sys\ndef f( x ):\n  return x\n");
  copyFileSync(join(ROOT, "plugins/repoagent/ruff.toml"), join(dir, "ruff.toml"));
  const ruff = await run("python3", ["-m", "ruff", "check", "bad.py"], dir);
  t.not(ruff.code, 0, "ruff check refuses unused imports");
  const ruffFormat = await run("python3", ["-m", "ruff", "format", "--check", "bad.py"], dir);
  t.not(ruffFormat.code, 0, "ruff format --check refuses its layout");

  writeFileSync(join(dir, "bad.rs"), 'fn main(){let x=1;println!("{}",x);}\n');
  const rustfmt = await run("rustfmt", ["--check", "--edition", "2021", "bad.rs"], dir);
  t.not(rustfmt.code, 0, "rustfmt --check refuses its layout");

  writeFileSync(join(dir, "bad.go"), "package main\nfunc main(){println(1)}\n");
  const gofmt = await run("gofmt", ["-l", "bad.go"], dir);
  t.match(gofmt.out, /bad\.go/, "gofmt -l lists a badly formatted Go file");

  // The plugins' test builds: a clippy warning (len_zero, warn by default) fails the build.
  const crate = join(dir, "crate");
  mkdirSync(join(crate, "src"), { recursive: true });
  writeFileSync(join(crate, "Cargo.toml"), '[package]\nname = "lint_probe"\nversion = "0.1.0"\nedition = "2021"\n');
  writeFileSync(join(crate, "src", "main.rs"), 'fn main() {\n    let v: Vec<u8> = std::env::args().map(|a| a.len() as u8).collect();\n    println!("{}", v.len() == 0);\n}\n');
  const env = { ...cargoTestBuildEnv("lint-probe"), CARGO_TARGET_DIR: join(dir, "target") };
  const build = await run("cargo", ["build", "--offline", "--quiet"], crate, env);
  t.not(build.code, 0, "a plugin's test build fails on a clippy warning");
  t.match(build.out, /len_zero|length comparison to zero/, "and names the clippy lint");
});
