/** Where `bkg dev` finds a plugin's manifest, and the dev manifest it writes (src/scaffold/dev-manifest.ts). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { DEFAULT_WATCH, devManifest, DevError, findDevManifest, pluginDirOf } from "../../src/scaffold/dev-manifest.js";

const dir = mkdtempSync(join(tmpdir(), "bkg-devmanifest-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const manifests = join(dir, "manifests");
mkdirSync(manifests);
const write = (path: string, v: unknown) => {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, typeof v === "string" ? v : JSON.stringify(v));
};

t.test("bkg.plugin.json, then package.json's bkg field, then an installed manifest", async (t) => {
  const a = join(dir, "a");
  write(join(a, "bkg.plugin.json"), { $schema: "x", name: "alpha", version: "1.0.0", command: ["node", "i.mjs"], watch: ["*.mjs"] });
  write(join(a, "package.json"), { name: "ignored", bkg: { command: ["x"] } });
  const s = findDevManifest(a, manifests);
  t.match(s, { kind: "manifest", name: "alpha", from: join(a, "bkg.plugin.json") });
  t.same(devManifest(s, pluginDirOf(s.from, s.manifest)), { name: "alpha", version: "1.0.0", command: ["node", "i.mjs"], watch: ["*.mjs"], cwd: a }, "$schema dropped, cwd absolute, watch kept");
  t.match(findDevManifest(join(a, "bkg.plugin.json"), manifests), { kind: "manifest", name: "alpha" }, "a manifest file itself");

  const b = join(dir, "b");
  write(join(b, "package.json"), { name: "@scope/beta", version: "2.1.0", main: "main.js", bkg: { provides: ["x"] } });
  const p = findDevManifest(b, manifests);
  t.match(p, { kind: "manifest", name: "beta", manifest: { name: "beta", version: "2.1.0", command: ["node", "main.js"], provides: ["x"] } });
  t.same(devManifest(p, b).watch, DEFAULT_WATCH, "no watch globs: the defaults");

  const c = join(dir, "plugins", "gamma");
  mkdirSync(c, { recursive: true });
  write(join(manifests, "gamma.json"), { name: "gamma", version: "1.0.0", command: ["python3", "p.py"], cwd: "../plugins/gamma" });
  write(join(manifests, "broken.json"), "{ not json");
  t.match(findDevManifest(c, manifests), { kind: "installed", name: "gamma", from: join(manifests, "gamma.json") });
});

t.test("what cannot be attached says why", async (t) => {
  const empty = join(dir, "empty");
  mkdirSync(empty);
  t.throws(
    () => findDevManifest(empty, manifests),
    new DevError(
      `no manifest for ${empty}: expected bkg.plugin.json there (bkg plugin new --dir writes one), a "bkg" field in its package.json, or a manifest in ${manifests} whose cwd is that folder`,
    ),
  );
  t.throws(() => findDevManifest(join(dir, "missing"), manifests), /does not exist/);
  write(join(dir, "notes.txt"), "x");
  t.throws(() => findDevManifest(join(dir, "notes.txt"), manifests), /not a manifest/);
  write(join(dir, "bad", "bkg.plugin.json"), { name: "Bad Name", version: "1.0.0", command: ["x"] });
  t.throws(() => findDevManifest(join(dir, "bad"), manifests), /"name" must be a plugin name/);
  write(join(dir, "badjson", "bkg.plugin.json"), "{");
  t.throws(() => findDevManifest(join(dir, "badjson"), manifests), /is not valid JSON/);
});
