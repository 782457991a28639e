/**
 * `bkg plugin new`: writes a small, working plugin (one method, `greet`), a test that starts it
 * and calls it over the protocol, and its manifest, for TypeScript, Python or Rust.
 *
 * Where things go:
 * - default: the plugin in `plugins/NAME` beside the config's manifests folder, its manifest in
 *   that folder (`manifests/NAME.json`, `cwd` pointing at the plugin): a running daemon starts
 *   it at once and hot-swaps it on every save.
 * - `--dir D`: the plugin in D, its manifest beside it as `D/bkg.plugin.json` (no `cwd`: the
 *   plugin's own folder). Nothing is attached to a daemon until `bkg dev D`.
 *
 * The SDKs come from the bkg checkout this code runs from: by a relative path when the plugin
 * is inside it (the pair can move together), by an absolute path otherwise.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { PACKAGE_ROOT } from "../package-root.js";

export type Lang = "ts" | "python" | "rust";

export const LANG_ALIASES: Record<string, Lang> = { ts: "ts", typescript: "ts", python: "python", py: "python", rust: "rust", rs: "rust" };
export const LANG_NAMES: Record<Lang, string> = { ts: "TypeScript", python: "Python", rust: "Rust" };
/** The manifest's name rule (schemas/plugin-manifest.schema.json). */
export const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
/** The manifest a standalone plugin (--dir) keeps in its own folder; `bkg dev` reads it. */
export const MANIFEST_FILE = "bkg.plugin.json";
export const PLUGIN_VERSION = "0.1.0";

const TEMPLATES = "src/scaffold/templates";

export interface ScaffoldOptions {
  name: string;
  lang: Lang;
  /** The plugin's own folder; its manifest goes beside it as bkg.plugin.json. */
  dir?: string;
  /** Without `dir`: the daemon's manifests folder; the plugin goes to ../plugins/NAME beside it. */
  manifestsDir?: string;
  /** The bkg checkout whose SDKs and templates are used (default: this one). */
  bkgRoot?: string;
}

export interface ScaffoldResult {
  name: string;
  lang: Lang;
  pluginDir: string;
  manifestFile: string;
  manifest: Record<string, unknown>;
  /** Every file written, absolute, the manifest last. */
  files: string[];
  /** True with --dir: the manifest is beside the plugin, not in a manifests folder. */
  standalone: boolean;
  /** True when the plugin is inside the bkg checkout (SDKs referenced by relative paths). */
  insideBkg: boolean;
}

/** A problem the user can fix (name taken, folder not empty, ...): one line, exit 1. */
export class ScaffoldError extends Error {}

export function parseLang(lang: string): Lang {
  const l = LANG_ALIASES[lang.toLowerCase()];
  if (!l) throw new ScaffoldError(`unknown language ${JSON.stringify(lang)}: use ts, python or rust`);
  return l;
}

export function scaffoldPlugin(o: ScaffoldOptions): ScaffoldResult {
  const { name, lang } = o;
  if (!NAME_PATTERN.test(name)) {
    throw new ScaffoldError(
      `invalid plugin name ${JSON.stringify(name)}: a lowercase letter, then up to 62 lowercase letters, digits, - or _ (it prefixes the methods: ${name.toLowerCase().replace(/[^a-z0-9_-]/g, "") || "hello"}.greet)`,
    );
  }
  const root = o.bkgRoot ?? PACKAGE_ROOT;
  let pluginDir: string;
  let manifestFile: string;
  if (o.dir !== undefined) {
    pluginDir = resolve(o.dir);
    manifestFile = join(pluginDir, MANIFEST_FILE);
  } else {
    if (!o.manifestsDir) throw new ScaffoldError("no manifests folder: give --dir, or run where a bkg.config.json is");
    const manifestsDir = resolve(o.manifestsDir);
    pluginDir = join(dirname(manifestsDir), "plugins", name);
    manifestFile = join(manifestsDir, `${name}.json`);
  }
  if (existsSync(pluginDir) && (!statSync(pluginDir).isDirectory() || readdirSync(pluginDir).length > 0)) {
    throw new ScaffoldError(`${pluginDir} already exists and is not empty: choose another name or --dir`);
  }
  if (existsSync(manifestFile)) throw new ScaffoldError(`a manifest for ${name} already exists: ${manifestFile}`);

  const insideBkg = isInside(pluginDir, root);
  /** How the plugin refers to a path in the bkg checkout. */
  const ref = (target: string) => (insideBkg ? relative(pluginDir, target) || "." : target);
  const standalone = o.dir !== undefined;
  const manifestNote = standalone
    ? `\`${MANIFEST_FILE}\` beside this file. \`bkg dev .\` runs the plugin on a daemon (starting one if none runs) and hot-swaps it on every save.`
    : `\`${relative(pluginDir, manifestFile)}\`, in the daemon's manifests folder: a running daemon runs the plugin as soon as the manifest appears and hot-swaps it on every save.`;
  const pythonSdk = join(root, "plugin-sdk/python/src");
  const vars: Record<string, string> = {
    name,
    version: PLUGIN_VERSION,
    manifestNote,
    pythonSdkPath: insideBkg ? `os.path.join(os.path.dirname(os.path.abspath(__file__)), ${JSON.stringify(ref(pythonSdk))})` : JSON.stringify(pythonSdk),
    pythonSdkPip: ref(join(root, "plugin-sdk/python")),
    rustSdkPath: ref(join(root, "plugin-sdk/rust")),
  };

  const files: [string, string][] = []; // [relative path, content]
  const templateDir = join(root, TEMPLATES, lang);
  for (const rel of listFiles(templateDir)) {
    const out = rel.replace(/\.tmpl$/, "").replace(/(^|\/)gitignore$/, "$1.gitignore");
    files.push([out, render(readFileSync(join(templateDir, rel), "utf8"), vars)]);
  }
  let copyLock: string | undefined;
  if (lang === "ts") files.push(["package.json", json(packageJson(name, ref(join(root, "plugin-sdk/typescript")), root))]);
  if (lang === "rust") {
    files.push(["Cargo.toml", cargoToml(name, vars.rustSdkPath)]);
    // The SDK's lock file: the same dependency versions it is tested with, resolved without
    // the network, and builds that share a target folder with the SDK reuse its artifacts.
    const lock = join(root, "plugin-sdk/rust/Cargo.lock");
    if (existsSync(lock)) copyLock = lock;
  }

  const manifest = buildManifest(name, lang, standalone ? undefined : relative(dirname(manifestFile), pluginDir), dirname(manifestFile), root);
  const written: string[] = [];
  for (const [rel, content] of files) {
    const file = join(pluginDir, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    written.push(file);
  }
  if (copyLock) {
    copyFileSync(copyLock, join(pluginDir, "Cargo.lock"));
    written.push(join(pluginDir, "Cargo.lock"));
  }
  if (lang === "python") written.filter((f) => f.endsWith("plugin.py")).forEach(makeExecutable);
  mkdirSync(dirname(manifestFile), { recursive: true });
  writeFileSync(manifestFile, json(manifest));
  written.push(manifestFile);
  return { name, lang, pluginDir, manifestFile, manifest, files: written, standalone, insideBkg };
}

/** The command that runs each language's plugin from source, and what a save should reload. */
export const RUNTIME: Record<Lang, { command: string[]; watch: string[]; extra?: Record<string, unknown> }> = {
  ts: { command: ["node", "--import", "tsx", "src/index.ts"], watch: ["src/**/*.ts"] },
  python: { command: ["python3", "plugin.py"], watch: ["**/*.py"] },
  // The manifest's build step compiles it (see rustBuild); the command runs the binary it installs.
  rust: { command: ["build/bin/NAME"], watch: ["src/**/*.rs", "Cargo.toml", "Cargo.lock"] },
};

/**
 * A Rust plugin's build step: `cargo install --path .` is `cargo build --release` plus a copy of
 * the binary to build/bin/NAME, so the command's path holds wherever CARGO_TARGET_DIR points
 * (a target folder shared between plugins compiles their common dependencies once).
 */
export function rustBuild(name: string): Record<string, unknown> {
  return {
    command: ["cargo", "install", "--path", ".", "--root", "build", "--locked", "--force"],
    inputs: ["src/**/*.rs", "Cargo.toml", "Cargo.lock"],
    outputs: [`build/bin/${name}`],
    timeoutMs: 900_000,
  };
}

function buildManifest(name: string, lang: Lang, cwd: string | undefined, manifestDir: string, root: string): Record<string, unknown> {
  const schema = join(root, "schemas/plugin-manifest.schema.json");
  const m: Record<string, unknown> = {};
  if (isInside(manifestDir, root) && existsSync(schema)) m.$schema = relative(manifestDir, schema);
  Object.assign(m, {
    name,
    version: PLUGIN_VERSION,
    description: `${name}: a ${LANG_NAMES[lang]} plugin (bkg plugin new)`,
    command: RUNTIME[lang].command.map((a) => a.replace("NAME", name)),
  });
  if (cwd !== undefined) m.cwd = cwd;
  Object.assign(m, { provides: ["greet"], watch: RUNTIME[lang].watch, ...RUNTIME[lang].extra });
  if (lang === "rust") m.build = rustBuild(name);
  return m;
}

function packageJson(name: string, sdk: string, root: string): Record<string, unknown> {
  // The same tool versions as the bkg checkout, so a plugin inside it needs no install.
  let dev: Record<string, string> = {};
  try {
    dev = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).devDependencies ?? {};
  } catch {
    /* defaults below */
  }
  return {
    name,
    version: PLUGIN_VERSION,
    private: true,
    description: `${name}: a bkg plugin in TypeScript`,
    type: "module",
    scripts: {
      start: "node --import tsx src/index.ts",
      test: "node --import tsx --test test/plugin.test.ts",
      typecheck: "tsc --noEmit",
    },
    dependencies: { "@bkg/plugin-sdk": `file:${sdk}` },
    devDependencies: {
      "@types/node": dev["@types/node"] ?? "^20.19.0",
      tsx: dev.tsx ?? "^4.23.15",
      typescript: dev.typescript ?? "~5.9.3",
    },
  };
}

function cargoToml(name: string, sdk: string): string {
  return `[package]
name = "${name}"
version = "${PLUGIN_VERSION}"
edition = "2021"
publish = false

[dependencies]
bkg-plugin = { path = ${JSON.stringify(sdk)} }

# A plugin of its own, not a member of an enclosing workspace.
[workspace]
`;
}

function render(template: string, vars: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => {
    if (!(key in vars)) throw new Error(`template variable ${whole} is not defined`);
    return vars[key];
  });
}

function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(join(dir, e.name), rel));
    else out.push(rel);
  }
  return out;
}

/** Pretty JSON with short arrays of scalars on one line, as a person would write a manifest. */
export function json(v: unknown): string {
  return `${JSON.stringify(v, null, 2).replace(/\[\n\s*((?:"(?:[^"\\]|\\.)*"|-?[\d.]+|true|false|null)(?:,\n\s*(?:"(?:[^"\\]|\\.)*"|-?[\d.]+|true|false|null))*)\n\s*\]/g, (whole, items: string) => {
    const line = `[${items.split(/,\n\s*/).join(", ")}]`;
    return line.length <= 100 ? line : whole;
  })}\n`;
}

function isInside(path: string, dir: string): boolean {
  const p = resolve(path);
  const d = resolve(dir);
  return p === d || p.startsWith(d.endsWith(sep) ? d : d + sep);
}

function makeExecutable(file: string): void {
  chmodSync(file, statSync(file).mode | 0o111);
}
