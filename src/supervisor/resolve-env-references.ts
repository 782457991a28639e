/**
 * `{"$env": "NAME"}` in a manifest's `env` or `config`: a value taken from the daemon's
 * environment when an instance starts, so secrets need not be written in manifest files. The
 * manifest keeps the reference as written (the control API shows it as is); only the spawned
 * process's environment and its initialize `config` carry the value.
 */
import { BkgError, ErrorCodes } from "@bkg/protocol";
import type { EnvReference } from "../registry/index.js";

/** Exactly `{"$env": "NAME"}`: one key, a string. Anything else is ordinary data. */
export function isEnvReference(v: unknown): v is EnvReference {
  if (!v || typeof v !== "object" || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] === "$env" && typeof (v as EnvReference).$env === "string";
}

/**
 * Replaces every reference in `value` (at any depth) by the variable's value. Throws a permanent
 * BkgError naming the manifest, the field (a JSON pointer) and the variable when one is not set:
 * retrying cannot help until the daemon is restarted with it. Pure; does not modify `value`.
 */
export function resolveEnvReferences<T>(value: T, daemonEnv: NodeJS.ProcessEnv, where: { file: string; pointer: string }): T {
  const walk = (v: unknown, pointer: string): unknown => {
    if (isEnvReference(v)) {
      const got = daemonEnv[v.$env];
      if (got === undefined) {
        throw new BkgError(
          ErrorCodes.PluginUnavailable,
          `manifest ${where.file}: ${pointer} refers to {"$env": "${v.$env}"}, but ${v.$env} is not set in the daemon's environment (set it where the daemon starts, or change the manifest)`,
          { permanent: true, variable: v.$env, pointer },
        );
      }
      return got;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${pointer}/${i}`));
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, `${pointer}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`);
      return out;
    }
    return v;
  };
  return walk(value, where.pointer) as T;
}
