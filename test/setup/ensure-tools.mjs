#!/usr/bin/env node
// Runs before npm test: makes sure the tools the SDK suites need are present, installing what
// a package registry can provide (pytest) and saying clearly what it cannot (cargo, python3).
import { spawnSync } from "node:child_process";
import { installPgserver, postgresBin } from "./postgres.mjs";

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

// nats-server for the cluster tests (test/e2e/cluster*.test.ts): Debian's package.
if (!ok("nats-server", ["--version"])) {
  if (ok("apt-get", ["--version"]) && process.getuid?.() === 0) {
    process.stderr.write("ensure-tools: installing nats-server (apt-get install -y nats-server) for the cluster tests\n");
    const install = () => spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "nats-server"], { stdio: "inherit" }).status === 0;
    // A fresh machine may have no package lists yet.
    if (!install() && spawnSync("apt-get", ["update"], { stdio: "inherit" }).status === 0) install();
  }
  if (!ok("nats-server", ["--version"])) problems.push("nats-server is not on the PATH (the cluster tests need it: apt-get install nats-server, or https://github.com/nats-io/nats-server/releases)");
}

if (problems.length) {
  for (const p of problems) process.stderr.write(`ensure-tools: ${p}\n`);
  process.exit(1);
}
