/**
 * A throwaway PostgreSQL cluster for one test file: initdb in a temporary folder, the server
 * listening only on a unix socket there (no TCP port to collide on), fsync off. stop() shuts it
 * down and removes the folder. Fails with the reason when PostgreSQL cannot be started; never
 * skips.
 */
import { spawn, spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
// @ts-expect-error: a plain .mjs module shared with test/setup/ensure-tools.mjs
import { postgresBin, serverUser } from "../setup/postgres.mjs";

export interface TestPostgres {
  /** A postgres:// URL for a database (default "postgres"). */
  url(db?: string): string;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<TestPostgres> {
  const found = postgresBin() as { bin?: string; error?: string };
  if (!found.bin) throw new Error(`PostgreSQL is not available for the store tests: ${found.error}`);
  const bin = found.bin;
  const user = serverUser() as { uid: number; gid: number } | undefined;
  const dir = mkdtempSync(join(tmpdir(), "bkg-pg-"));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, "data");
  const as = user ? { uid: user.uid, gid: user.gid } : {};
  const init = spawnSync(join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync", "--no-instructions"], { ...as, encoding: "utf8" });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (exit ${init.status}${init.error ? `, ${init.error.message}` : ""}): ${init.stderr || init.stdout}`);
  }
  const server = spawn(join(bin, "postgres"), ["-D", data, "-k", dir, "-h", "", "-F", "-c", "full_page_writes=off", "-c", "max_connections=100"], { ...as, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  server.stderr!.on("data", (d) => (log += d));
  const exited = new Promise<void>((r) => server.once("exit", () => r()));
  const url = (db = "postgres") => `postgres://postgres@localhost/${db}?host=${encodeURIComponent(dir)}`;
  const until = Date.now() + 20_000;
  for (;;) {
    if (server.exitCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`postgres exited with ${server.exitCode} while starting:\n${log}`);
    }
    const c = new pg.Client({ connectionString: url() });
    try {
      await c.connect();
      await c.query("SELECT 1");
      await c.end();
      break;
    } catch (e) {
      await c.end().catch(() => undefined);
      if (Date.now() > until) {
        server.kill("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`postgres did not accept connections within 20 s: ${(e as Error).message}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    async createDatabase(name) {
      const c = new pg.Client({ connectionString: url() });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name}"`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    async stop() {
      if (server.exitCode === null) {
        server.kill("SIGINT"); // fast shutdown
        const t = setTimeout(() => server.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
