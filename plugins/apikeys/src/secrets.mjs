/**
 * Secret material: API key generation and hashing, ids, and the JWT signing key file.
 * Nothing here logs or returns a secret except the functions whose job it is.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export const KEY_PREFIX = "bkg_live_";
/** `bkg_live_` + 32 random bytes as unpadded base64url (43 characters). */
export const KEY_RE = /^bkg_live_[A-Za-z0-9_-]{43}$/;
export const JWT_SECRET_FILE = "jwt.key";
const JWT_SECRET_BYTES = 32;

/** A fresh API key secret. Shown to the caller once; only its SHA-256 is stored. */
export function newApiKey() {
  return KEY_PREFIX + randomBytes(32).toString("base64url");
}

/** @param {string} s @returns {string} lowercase hex SHA-256 of the UTF-8 bytes */
export function sha256Hex(s) {
  return createHash("sha256").update(s, "utf8").digest("hex");
}

/** @param {"usr"|"key"} prefix */
export function newId(prefix) {
  return `${prefix}_${randomBytes(12).toString("base64url")}`;
}

/**
 * The HS256 signing key: 32 random bytes in `<dataDir>/jwt.key`, mode 0600, made on first start.
 * Made atomically (written to a private temp file, then hard-linked into place) so two instances
 * starting at once agree on one key. Deleting the file ends every session at the next start.
 * @param {string} dir
 * @param {(level: string, msg: string, fields?: object) => void} log
 * @returns {Uint8Array}
 */
export function loadOrCreateJwtSecret(dir, log) {
  const file = path.join(dir, JWT_SECRET_FILE);
  try {
    return readSecret(file, log);
  } catch (e) {
    if (/** @type {NodeJS.ErrnoException} */ (e).code !== "ENOENT") throw e;
  }
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = fs.openSync(tmp, "wx", 0o600);
  try {
    fs.writeSync(fd, randomBytes(JWT_SECRET_BYTES));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, file);
    log("info", `created the session signing key ${file}`);
  } catch (e) {
    if (/** @type {NodeJS.ErrnoException} */ (e).code !== "EEXIST") throw e;
  } finally {
    fs.unlinkSync(tmp);
  }
  return readSecret(file, log);
}

function readSecret(file, log) {
  const st = fs.statSync(file);
  if ((st.mode & 0o077) !== 0) {
    fs.chmodSync(file, 0o600);
    log("warn", `${file} was readable by others (mode ${(st.mode & 0o777).toString(8)}); set it to 600`);
  }
  const buf = fs.readFileSync(file);
  if (buf.length !== JWT_SECRET_BYTES) {
    throw new Error(`${file} must hold ${JWT_SECRET_BYTES} bytes but holds ${buf.length}; delete it to make a new one (every session then ends)`);
  }
  return new Uint8Array(buf);
}
