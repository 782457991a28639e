/**
 * Hardening item 11: the data folder holds the root token and the store. mkdir's mode applies
 * only to a new folder, so a pre-existing 0755 one left bkg.db at 0644 for every local user.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import t from "tap";
import { echoManifest, startTestDaemon } from "../helpers/daemon.js";

/** Every path under `dir` with its mode, not descending into plugins' own data folders (theirs to manage). */
function walk(dir: string, root = dir, out: [string, number, boolean][] = []): [string, number, boolean][] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const st = statSync(p);
    out.push([relative(root, p), st.mode & 0o777, e.isDirectory()]);
    if (e.isDirectory() && relative(root, dir) !== "plugins") walk(p, root, out);
  }
  return out;
}

t.test("bug: files made in a pre-existing data folder were 0644 (bkg.db); the folder is tightened to 0700 and every file the daemon makes is 0600", async (t) => {
  const outer = mkdtempSync(join(tmpdir(), "bkg-modes-"));
  t.teardown(() => rmSync(outer, { recursive: true, force: true }));
  const dataDir = join(outer, "data");
  mkdirSync(dataDir);
  chmodSync(dataDir, 0o755);
  const d = await startTestDaemon({ echo: echoManifest() }, { dataDir });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  await d.client.call("echo.reverse", { text: "x" });
  await d.logLine("was mode 0755; set it to 0700", "the daemon's note that it tightened the folder");

  t.equal(statSync(dataDir).mode & 0o777, 0o700, "the data folder is 0700");
  const entries = walk(dataDir);
  t.ok(
    entries.some(([p]) => p === "bkg.db"),
    "the store is there",
  );
  t.ok(
    entries.some(([p]) => p === "root.token"),
    "the root token is there",
  );
  const loose = entries.filter(([, mode, isDir]) => (isDir ? mode !== 0o700 : (mode & 0o077) !== 0)).map(([p, mode]) => `${p} 0${mode.toString(8)}`);
  t.same(loose, [], "no file or folder the daemon made is readable by others");
});
