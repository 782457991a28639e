/**
 * What `bkg dev PATH` attaches to the daemon: the plugin's manifest, found in this order:
 *
 * 1. PATH itself, when it is a .json manifest file;
 * 2. PATH/bkg.plugin.json (what `bkg plugin new --dir` writes);
 * 3. the "bkg" field of PATH/package.json (name and version default to the package's, the
 *    command to `node <main>`);
 * 4. a manifest already in the daemon's manifests folder whose `cwd` is PATH (what
 *    `bkg plugin new` writes without --dir): the plugin is attached already; dev only follows it.
 *
 * For 1-3, the dev manifest is that manifest with `cwd` made absolute and, when it has none,
 * `watch` globs for common source files; it is written to the manifests folder as NAME.json.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { MANIFEST_FILE, NAME_PATTERN } from "./scaffold.js";

/** Watched when a manifest names no `watch` globs: sources of the usual plugin languages. */
export const DEFAULT_WATCH = ["**/*.{js,mjs,cjs,ts,mts,cts,py,rs,go,rb,java,kt,cs,php,lua,sh}", "**/{Cargo.toml,package.json,pyproject.toml,go.mod}"];

export type DevSource = { kind: "manifest"; from: string; name: string; manifest: Record<string, unknown> } | { kind: "installed"; from: string; name: string; manifest: Record<string, unknown> };

/** A problem the user can fix: one line, exit 1. */
export class DevError extends Error {}

export function findDevManifest(path: string, manifestsDir: string): DevSource {
  const target = resolve(path);
  if (!existsSync(target)) throw new DevError(`${path} does not exist`);
  if (statSync(target).isFile()) {
    if (!target.endsWith(".json")) throw new DevError(`${path} is a file but not a manifest (.json): give the plugin's folder`);
    return fromManifestFile(target);
  }
  const own = join(target, MANIFEST_FILE);
  if (existsSync(own)) return fromManifestFile(own);
  const pkgFile = join(target, "package.json");
  if (existsSync(pkgFile)) {
    const pkg = readJson(pkgFile);
    if (isObject(pkg.bkg)) return fromPackage(pkgFile, pkg);
  }
  const installed = installedFor(target, resolve(manifestsDir));
  if (installed) return installed;
  throw new DevError(
    `no manifest for ${path}: expected ${MANIFEST_FILE} there (bkg plugin new --dir writes one), a "bkg" field in its package.json, ` + `or a manifest in ${manifestsDir} whose cwd is that folder`,
  );
}

/** The manifest to write to the manifests folder for a dev run. */
export function devManifest(source: DevSource, pluginDir: string): Record<string, unknown> {
  const { $schema: _schema, ...m } = source.manifest;
  const out: Record<string, unknown> = { ...m, cwd: pluginDir };
  if (!Array.isArray(m.watch) || m.watch.length === 0) out.watch = DEFAULT_WATCH;
  return out;
}

/** The folder a manifest's plugin runs in: its cwd relative to the manifest file, else the file's folder. */
export function pluginDirOf(manifestFile: string, manifest: Record<string, unknown>): string {
  return resolve(dirname(manifestFile), typeof manifest.cwd === "string" ? manifest.cwd : ".");
}

function fromManifestFile(file: string): DevSource {
  const manifest = readJson(file);
  const name = manifest.name;
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw new DevError(`${file}: "name" must be a plugin name (a lowercase letter, then lowercase letters, digits, - or _), got ${JSON.stringify(name)}`);
  }
  return { kind: "manifest", from: file, name, manifest };
}

function fromPackage(file: string, pkg: Record<string, unknown>): DevSource {
  const bkg = pkg.bkg as Record<string, unknown>;
  const manifest: Record<string, unknown> = { ...bkg };
  if (manifest.name === undefined && typeof pkg.name === "string") manifest.name = pkg.name.replace(/^@[^/]+\//, "");
  if (manifest.version === undefined && typeof pkg.version === "string") manifest.version = pkg.version;
  if (manifest.command === undefined && typeof pkg.main === "string") manifest.command = ["node", pkg.main];
  const name = manifest.name;
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw new DevError(`${file}: the plugin name (bkg.name, else the package name) must be a plugin name (a lowercase letter, then lowercase letters, digits, - or _), got ${JSON.stringify(name)}`);
  }
  return { kind: "manifest", from: file, name, manifest };
}

function installedFor(dir: string, manifestsDir: string): DevSource | undefined {
  if (!existsSync(manifestsDir)) return undefined;
  for (const f of readdirSync(manifestsDir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const file = join(manifestsDir, f);
    let m: Record<string, unknown>;
    try {
      m = readJson(file);
    } catch {
      continue;
    }
    if (pluginDirOf(file, m) === dir) return { kind: "installed", from: file, name: basename(f, ".json"), manifest: m };
  }
  return undefined;
}

function readJson(file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new DevError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(v)) throw new DevError(`${file} must hold a JSON object`);
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
