/**
 * What of a manifest may be shown to someone who is not asking for its secrets. A manifest's
 * `env` and `config` are where operators put a plugin's credentials, so every `env` value and
 * every `config` value under a secret-sounding key (or that looks like a credential) is
 * replaced by REDACTED before the manifest leaves the daemon. `{"$env": "NAME"}` references
 * are shown as they are: they name a variable, not its value.
 */
import type { Manifest } from "./manifest.js";

export const REDACTED = "[redacted]";

/** Keys whose values are credentials: password, apiKey, client_secret, token, privateKey, dsn... */
const SECRET_KEY = /pass(word|wd|phrase)?|secret|token|api[-_]?key|private[-_]?key|^key$|credential|auth|cookie|session|signature|salt|dsn|cert/i;
/** Values that are credentials whatever their key: URLs with a password, bkg keys, PEM blocks, JWTs. */
const SECRET_VALUE = /:\/\/[^/\s:@]*:[^/\s@]+@|^bkg_(live|test)_|-----BEGIN [A-Z ]*PRIVATE KEY-----|^eyJ[\w-]+\.eyJ[\w-]+\./;

const isReference = (v: unknown): boolean => typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { $env?: unknown }).$env === "string";

/** A copy of `value` with every secret replaced by REDACTED. */
export function redactSecrets(value: unknown, secretKey = false): unknown {
  if (isReference(value)) return value;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, secretKey));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactSecrets(v, secretKey || SECRET_KEY.test(k));
    return out;
  }
  if (value === null || value === undefined) return value;
  if (secretKey) return REDACTED;
  return typeof value === "string" && SECRET_VALUE.test(value) ? REDACTED : value;
}

/** The manifest as anyone but an admin asking for secrets may see it: env values and secret config redacted. */
export function redactManifest(m: Manifest): Manifest {
  const env = m.env ? Object.fromEntries(Object.entries(m.env).map(([k, v]) => [k, isReference(v) ? v : REDACTED])) : m.env;
  return { ...m, env, config: redactSecrets(m.config) as Manifest["config"] };
}
