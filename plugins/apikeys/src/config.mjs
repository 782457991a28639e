/**
 * The plugin's settings (the manifest's `config`), with their defaults and ranges. Every
 * rejected value names its field, the value and the allowed range; README.md lists them all.
 */
import { availableParallelism } from "node:os";
import { THROTTLE_DEFAULTS } from "./login-throttle.mjs";

/**
 * @typedef {import("./login-throttle.mjs").ThrottlePolicy} ThrottlePolicy
 * @typedef {{sessionTtlHours: number, bcryptRounds: number, auditRetentionDays: number, hashThreads: number, hashQueue: number,
 *   loginThrottle: ThrottlePolicy, bootstrapAdmin?: {username: string, password: string}}} Config
 */

/** One bcrypt thread per two cores, at least 1, at most 4: on a 2-core machine the plugin's own thread keeps a core. */
export function defaultHashThreads(cores = availableParallelism()) {
  return Math.min(4, Math.max(1, Math.floor(cores / 2)));
}

/** Reads the manifest's config, with defaults; throws on a value it cannot use. @returns {Config} */
export function readConfig(raw = {}) {
  const num = (from, prefix, name, dflt, min, max, integer = false) => {
    const v = from[name] ?? dflt;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      throw new Error(`config.${prefix}${name} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const top = (name, dflt, min, max, integer) => num(raw, "", name, dflt, min, max, integer);
  const lt = raw.loginThrottle ?? {};
  if (typeof lt !== "object" || Array.isArray(lt)) throw new Error(`config.loginThrottle must be an object, got ${JSON.stringify(lt)}`);
  for (const k of Object.keys(lt)) {
    if (!(k in THROTTLE_DEFAULTS)) throw new Error(`config.loginThrottle.${k} is not a setting; the settings are ${Object.keys(THROTTLE_DEFAULTS).join(", ")}`);
  }
  const d = THROTTLE_DEFAULTS;
  const t = (name, min, max, integer = true) => num(lt, "loginThrottle.", name, d[name], min, max, integer);
  /** @type {ThrottlePolicy} */
  const loginThrottle = {
    backoffAfter: t("backoffAfter", 1, 1000),
    backoffBaseSeconds: t("backoffBaseSeconds", 0.001, 3600, false),
    backoffMaxSeconds: t("backoffMaxSeconds", 0, 86_400, false),
    lockoutAfter: t("lockoutAfter", 1, 1000),
    lockoutSeconds: t("lockoutSeconds", 0, 86_400, false),
    userBackoffAfter: t("userBackoffAfter", 1, 100_000),
    userBackoffMaxSeconds: t("userBackoffMaxSeconds", 0, 86_400, false),
    addressBackoffAfter: t("addressBackoffAfter", 1, 100_000),
    addressBackoffMaxSeconds: t("addressBackoffMaxSeconds", 0, 86_400, false),
    forgetAfterSeconds: t("forgetAfterSeconds", 1, 30 * 86_400, false),
    trustedAddressDays: t("trustedAddressDays", 0, 365, false),
  };
  if (loginThrottle.forgetAfterSeconds < loginThrottle.lockoutSeconds) {
    throw new Error(
      `config.loginThrottle.forgetAfterSeconds (${loginThrottle.forgetAfterSeconds}) must be at least lockoutSeconds (${loginThrottle.lockoutSeconds}), or a lockout would be forgotten before it ends`,
    );
  }
  /** @type {Config} */
  const cfg = {
    sessionTtlHours: top("sessionTtlHours", 24, 1 / 60, 24 * 365),
    bcryptRounds: Math.round(top("bcryptRounds", 12, 4, 15)),
    auditRetentionDays: top("auditRetentionDays", 365, 1, 36500),
    hashThreads: top("hashThreads", defaultHashThreads(), 1, 64, true),
    hashQueue: top("hashQueue", 8, 0, 10_000, true),
    loginThrottle,
  };
  if (raw.bootstrapAdmin !== undefined) cfg.bootstrapAdmin = raw.bootstrapAdmin;
  return cfg;
}
