// PostgreSQL for the tests, from the PyPI package pgserver (PostgreSQL 16 with pgvector; Debian's
// postgresql here has no pgvector). Used by ensure-tools.mjs (install) and test/helpers/postgres.ts
// (throwaway clusters). PostgreSQL refuses to run as root: as root, the binaries are copied to a
// folder every user can read and the server runs as `nobody`.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const PGSERVER_VERSION = "0.1.4";
const PYTHON = process.env.BKG_TEST_PYTHON || "python3";

/** The pgserver package folder, or undefined when it is not importable. */
function pgserverDir() {
  const r = spawnSync(PYTHON, ["-c", "import os, pgserver; print(os.path.dirname(pgserver.__file__))"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Installs pgserver with pip when missing. Returns an error string, or undefined when it is there. */
export function installPgserver(log = (m) => process.stderr.write(m + "\n")) {
  if (pgserverDir()) return undefined;
  log(`ensure-tools: installing pgserver ${PGSERVER_VERSION} (PostgreSQL with pgvector) for the store tests`);
  const r = spawnSync(PYTHON, ["-m", "pip", "install", "--quiet", `pgserver==${PGSERVER_VERSION}`], { stdio: "inherit" });
  if (r.status !== 0 || !pgserverDir()) return `pgserver ${PGSERVER_VERSION} could not be installed with pip (${PYTHON} -m pip install pgserver==${PGSERVER_VERSION}); the PostgreSQL store tests need it`;
  return undefined;
}

/** uid/gid of `nobody` when running as root (PostgreSQL will not run as root), else undefined. */
export function serverUser() {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync("id", ["-u", "nobody"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "nobody"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

/**
 * The folder of initdb and postgres, ready to run: { bin } or { error } saying what is missing.
 * As root, the binaries (and the libraries they load from ../../../pgserver.libs) are copied
 * once to <tmpdir>/bkg-pgserver-<version>, which `nobody` can read.
 */
export function postgresBin() {
  const dir = pgserverDir();
  if (!dir) return { error: `pgserver is not installed for ${PYTHON}; run: node test/setup/ensure-tools.mjs (or ${PYTHON} -m pip install pgserver==${PGSERVER_VERSION})` };
  let bin = join(dir, "pginstall", "bin");
  if (!existsSync(join(bin, "postgres"))) return { error: `pgserver at ${dir} has no pginstall/bin/postgres` };
  if (serverUser()) {
    const home = join(tmpdir(), `bkg-pgserver-${PGSERVER_VERSION}`);
    const copied = join(home, "pgserver", "pginstall", "bin");
    if (!existsSync(join(copied, "postgres"))) {
      const tmp = `${home}.${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(join(tmp, "pgserver"), { recursive: true, mode: 0o755 });
      cpSync(join(dir, "pginstall"), join(tmp, "pgserver", "pginstall"), { recursive: true });
      const libs = join(dirname(dir), "pgserver.libs");
      if (existsSync(libs)) cpSync(libs, join(tmp, "pgserver.libs"), { recursive: true });
      execFileSync("chmod", ["-R", "a+rX", tmp]);
      try {
        renameSync(tmp, home);
      } catch {
        rmSync(tmp, { recursive: true, force: true }); // another process won the race
      }
    }
    bin = copied;
  }
  return { bin };
}
