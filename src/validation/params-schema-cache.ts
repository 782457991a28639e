/**
 * Plugins' compiled paramsSchemas, kept across daemon starts.
 *
 * Compiling a plugin's paramsSchemas at its handshake meant loading ajv and its code generator:
 * about a quarter of the daemon's CPU while ten plugins start. A set of schemas that compiled once
 * is stored here as ajv's standalone code (the same code ajv runs, so the same checks, errors and
 * messages), and the next start evaluates that code instead of loading ajv.
 *
 * Contract:
 *   - `load(set)` returns validators in the order of the set, or undefined (absent, unreadable,
 *     written by another ajv or formats version — the key covers both — or failing to evaluate).
 *     A miss only costs compiling; it is never an error.
 *   - `store(set, source)` writes atomically (temp file + rename) and never throws: a read-only or
 *     full disk means the next start compiles again.
 *   - Only sets that compiled successfully are stored, so an invalid schema is always judged by
 *     ajv at the handshake.
 * The files live in <dataDir>/cache/params-schemas/ (the daemon's own folder, mode 0700).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { ValidateFunction } from "ajv";
import { FORMATS_FILE, bkgFormats, sha256 } from "./compiled-validators.js";
import { FORMATS_MODULE } from "./schemas.js";

const require = createRequire(import.meta.url);

/** Bumped when the file layout below changes. */
const LAYOUT = 1;

/**
 * Sets kept at most; past it the least recently written go. Every hot swap with changed schemas
 * (every save under `bkg dev`) adds a set, so the folder must not grow without bound.
 */
export const MAX_CACHED_SETS = 200;

let versionSalt: string | undefined;
function salt(): string {
  if (versionSalt === undefined) {
    const ajv = (require("ajv/package.json") as { version: string }).version;
    versionSalt = `${LAYOUT}\0${ajv}\0${sha256(readFileSync(FORMATS_FILE, "utf8"))}`;
  }
  return versionSalt;
}

/** Resolves what standalone code requires: ajv's runtime helpers from bkg's node_modules, and bkg's formats. */
function requireForStandalone(id: string): unknown {
  if (id === FORMATS_MODULE) return bkgFormats();
  if (!id.startsWith("ajv/dist/runtime/")) throw new Error(`standalone validator code asked for ${id}`);
  return require(id);
}

export class ParamsSchemaCache {
  constructor(readonly dir: string) {}

  /** The file name for a set (its canonical JSON), under this ajv and these formats. */
  fileOf(setJson: string): string {
    return join(this.dir, `${createHash("sha256").update(salt()).update("\0").update(setJson).digest("hex")}.cjs`);
  }

  load(setJson: string, count: number): ValidateFunction[] | undefined {
    let source: string;
    try {
      source = readFileSync(this.fileOf(setJson), "utf8");
    } catch {
      return undefined;
    }
    try {
      const module = { exports: {} as Record<string, unknown> };
      // The daemon's own cache file, evaluated as CommonJS with a require limited to ajv's runtime.
      new Function("require", "module", "exports", source)(requireForStandalone, module, module.exports);
      const validators = Array.from({ length: count }, (_, i) => module.exports[`v${i}`] as ValidateFunction | undefined);
      return validators.every((v) => typeof v === "function") ? (validators as ValidateFunction[]) : undefined;
    } catch {
      return undefined;
    }
  }

  store(setJson: string, source: string): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const file = this.fileOf(setJson);
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, source, { mode: 0o600 });
      renameSync(tmp, file);
      this.prune();
    } catch {
      /* the next start compiles again */
    }
  }

  /** Keeps the newest MAX_CACHED_SETS files (by modification time). */
  private prune(): void {
    const files = readdirSync(this.dir).filter((f) => f.endsWith(".cjs"));
    if (files.length <= MAX_CACHED_SETS) return;
    const byAge = files.map((f) => ({ f, t: statSync(join(this.dir, f)).mtimeMs })).sort((a, b) => a.t - b.t);
    for (const { f } of byAge.slice(0, files.length - MAX_CACHED_SETS)) rmSync(join(this.dir, f), { force: true });
  }

  /** True when nothing is cached yet (a first start: worth preparing ajv early). */
  isEmpty(): boolean {
    try {
      return !readdirSync(this.dir).some((f) => f.endsWith(".cjs"));
    } catch {
      return true;
    }
  }
}
