/**
 * A hot swap that failed shows in `plugins list`, `status` and `plugins info` until a swap
 * succeeds, and `plugins reload` exits 1 when the old version kept serving (issue 11.3).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import t from "tap";
import { ROGUE, startTestDaemon } from "../helpers/daemon.js";

t.test("a failed hot swap shows in list, status and info until a swap succeeds; reload exits 1", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-swap-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const plugin = join(dir, "plugin.mjs");
  const good = `process.argv[2] = "ok";\nawait import(${JSON.stringify(pathToFileURL(ROGUE).href)});\n`;
  writeFileSync(plugin, good);
  const manifest = { name: "swappy", version: "1.0.0", command: ["node", plugin], provides: [] };
  const d = await startTestDaemon({ swappy: manifest });
  t.teardown(() => d.stop());
  await d.waitState("swappy", "ready");

  writeFileSync(plugin, "this is not javascript (\n");
  const reload = await d.cli(["plugins", "reload", "swappy"]);
  t.equal(reload.code, 1, "the old version kept serving: the reload failed");
  t.match(reload.stdout, /swappy: reload failed, ready \(.*SyntaxError/);

  const list = await d.cli(["plugins", "list"]);
  t.match(list.stdout, /swappy\s+ready.*previous version 1\.0\.0 serving: swap to 1\.0\.0 failed \d+(ms|s) ago: SyntaxError: /, "the list gives the line of stderr that says why");
  const status = await d.cli(["status"]);
  t.match(status.stdout, /swappy\s+ready.*swap to 1\.0\.0 failed .* ago/);
  const info = await d.cli(["plugins", "info", "swappy"]);
  t.match(info.stdout, /^last swap\s+previous version 1\.0\.0 serving: swap to 1\.0\.0 failed .*SyntaxError/m);
  const json = JSON.parse((await d.cli(["plugins", "info", "swappy", "--json"])).stdout);
  t.match(json.swapFailure, { version: "1.0.0", previousVersion: "1.0.0", message: /SyntaxError/ });

  writeFileSync(plugin, good);
  const fixed = await d.cli(["plugins", "reload", "swappy"]);
  t.equal(fixed.code, 0, fixed.stderr);
  t.notOk((await d.client.plugins.info("swappy")).swapFailure, "a successful swap clears it");
  t.notMatch((await d.cli(["plugins", "list"])).stdout, /swap to/);
});
