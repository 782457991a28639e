/**
 * Issue 17.4: the deployment files, checked as far as a machine without a container engine or a
 * running systemd allows. deploy/check (Go) loads the compose file with compose-go, what
 * `docker compose config` uses, and the Dockerfile with BuildKit's parser and linter, what
 * `docker build --check` runs; systemd-analyze verifies the unit. Each check is also shown
 * refusing a broken copy, so a checker that accepts anything fails here.
 *
 * The checker is built once into ~/.cache/bkg/go-bin (Go modules from the module proxy, about a
 * minute the first time, seconds after).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { runCommand } from "../helpers/command.js";
import { ROOT } from "../helpers/daemon.js";

t.setTimeout(10 * 60_000);

const DEPLOY = join(ROOT, "deploy");
const BIN_DIR = join(process.env.BKG_TEST_CACHE ?? join(homedir(), ".cache", "bkg"), "go-bin");
const CHECKER = join(BIN_DIR, "bkg-deploy-check");

const run = (cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => runCommand(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env });

const scratch = mkdtempSync(join(tmpdir(), "bkg-deploy-"));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of a deploy file with one edit, in the scratch folder beside a copy of the rest. */
function brokenCopy(name: string, from: string | RegExp, to: string): string {
  const text = readFileSync(join(DEPLOY, name), "utf8");
  const broken = text.replace(from, to);
  if (broken === text) throw new Error(`the edit of ${name} matched nothing: update this test`);
  const file = join(scratch, name);
  writeFileSync(file, broken);
  return file;
}

t.before(async () => {
  mkdirSync(BIN_DIR, { recursive: true });
  process.stderr.write(`deploy-files: building deploy/check (Go: compose-go, BuildKit's Dockerfile parser) into ${CHECKER}\n`);
  const build = await run("go", ["build", "-mod=readonly", "-o", CHECKER, "."], { cwd: join(DEPLOY, "check") });
  if (build.code !== 0) throw new Error(`go build of deploy/check failed:\n${build.out}`);
});

t.test("compose.yaml loads as `docker compose config` would load it", async (t) => {
  const ok = await run(CHECKER, ["compose", join(DEPLOY, "compose.yaml")], { env: { POSTGRES_PASSWORD: "example" } });
  t.equal(ok.code, 0, "valid against the Compose Specification", { output: ok.out });
  t.match(ok.out, /project bkg: services bkg-1, bkg-2, nats, postgres/, "two bkg replicas, NATS and PostgreSQL");

  const noPassword = await run(CHECKER, ["compose", join(DEPLOY, "compose.yaml")], { env: { POSTGRES_PASSWORD: "" } });
  t.not(noPassword.code, 0, "refused without POSTGRES_PASSWORD");
  t.match(noPassword.out, /POSTGRES_PASSWORD/, "naming the variable to set");

  const typo = await run(CHECKER, ["compose", brokenCopy("compose.yaml", "stop_grace_period:", "stop_grace_perod:")], { env: { POSTGRES_PASSWORD: "example" } });
  t.not(typo.code, 0, "a misspelt key is refused");
  t.match(typo.out, /stop_grace_perod/, "and named");

  const missing = await run(CHECKER, ["compose", brokenCopy("compose.yaml", "condition: service_started", "condition: service_started\n    natz:\n      condition: service_started")], {
    env: { POSTGRES_PASSWORD: "example" },
  });
  t.not(missing.code, 0, "a dependency on a service that does not exist is refused");
  t.match(missing.out, /natz/, "and named");
});

t.test("the Dockerfile parses and passes BuildKit's lint rules", async (t) => {
  const ok = await run(CHECKER, ["dockerfile", join(DEPLOY, "Dockerfile")]);
  t.equal(ok.code, 0, "no parse error, no lint finding", { output: ok.out });
  t.match(ok.out, /2 stages: build/, "a build stage and the runtime stage");

  const casing = await run(CHECKER, ["dockerfile", brokenCopy("Dockerfile", "AS build", "as build")]);
  t.not(casing.code, 0, "a lint finding fails the check");
  t.match(casing.out, /FromAsCasing/, "naming the rule");

  const unknown = await run(CHECKER, ["dockerfile", brokenCopy("Dockerfile", /^WORKDIR \/src$/m, "WORKDIRR /src")]);
  t.not(unknown.code, 0, "an unknown instruction fails the check");
  t.match(unknown.out, /unknown instruction: WORKDIRR/);
});

t.test("the systemd unit verifies", async (t) => {
  const ok = await run("systemd-analyze", ["verify", join(DEPLOY, "bkg.service")]);
  t.equal(ok.code, 0, "systemd-analyze verify", { output: ok.out });
  t.equal(ok.out.trim(), "", "with no warnings");

  const security = await run("systemd-analyze", ["security", "--offline=true", "--threshold=30", join(DEPLOY, "bkg.service")]);
  t.equal(security.code, 0, "systemd-analyze security: exposure at most 3.0 (its --threshold counts tenths)", { output: security.out.slice(-2000) });

  const bad = await run("systemd-analyze", ["verify", brokenCopy("bkg.service", /^Restart=.*$/m, "Restart=sometimes")]);
  t.match(bad.out, /Failed to parse service restart specifier.*sometimes/, "a bad value is reported");
});
