/**
 * A throwaway PostgreSQL with pgvector for benchmarks (the same pgserver binaries as the tests:
 * test/setup/postgres.mjs), on a unix socket in a temporary folder, stopped at cleanup.
 */
import { spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { ROOT } from "./paths.js";
import { killTree, onCleanup, spawnTracked, waitFor } from "./procs.js";

export async function startPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  const setup = (await import(join(ROOT, "test", "setup", "postgres.mjs"))) as {
    postgresBin(): { bin?: string; error?: string };
    serverUser(): { uid: number; gid: number } | undefined;
  };
  const found = setup.postgresBin();
  if (!found.bin) throw new Error(`PostgreSQL is not available: ${found.error}`);
  const user = setup.serverUser();
  const dir = mkdtempSync(join(tmpdir(), "bkg-bench-pg-"));
  if (user) chownSync(dir, user.uid, user.gid);
  const as = user ? { uid: user.uid, gid: user.gid } : {};
  const init = spawnSync(join(found.bin, "initdb"), ["-D", join(dir, "data"), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"], { ...as, encoding: "utf8" });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const server = spawnTracked(join(found.bin, "postgres"), ["-D", join(dir, "data"), "-k", dir, "-h", "", "-F", "-c", "maintenance_work_mem=512MB", "-c", "shared_buffers=256MB"], {
    ...as,
    stdio: "ignore",
  });
  const url = `postgres://postgres@localhost/postgres?host=${encodeURIComponent(dir)}`;
  const stop = onCleanup(`postgres in ${dir}`, async () => {
    killTree(server.pid);
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(
    async () => {
      const c = new pg.Client({ connectionString: url });
      try {
        await c.connect();
        await c.end();
        return true;
      } catch {
        await c.end().catch(() => undefined);
        return false;
      }
    },
    "postgres to accept connections",
    30_000,
    100,
  );
  return { url, stop };
}
