/**
 * The root token: a bootstrap admin credential the daemon itself checks, so an operator can get
 * in before any user or key exists, and can still restart the auth plugin when it is down.
 *
 * On first start it is written to <dataDir>/root.token (mode 0600, created exclusively) and, when
 * stderr is a terminal, printed once, as Jupyter does. Later starts read it back. Delete the file
 * and restart the daemon to replace it. The token is never written to the log.
 */
import { chmodSync, openSync, readFileSync, statSync, writeSync, closeSync } from "node:fs";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import { BkgError, ErrorCodes } from "@bkg/protocol";

export const ROOT_TOKEN_FILE = "root.token";
export const ROOT_TOKEN_PREFIX = "bkg_root_";

export interface RootToken {
  file: string;
  /** True when this start created it (so it should be shown to the operator once). */
  created: boolean;
  /** True when the file's mode was looser than 0600 and was fixed. */
  modeFixed: boolean;
  /** Constant-time comparison with a presented credential. */
  matches(credential: string): boolean;
  /** The secret itself, only for printing it once at creation. */
  reveal(): string;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Reads <dataDir>/root.token, creating it on first start. Throws a BkgError naming the file if it is unusable. */
export function loadOrCreateRootToken(dataDir: string): RootToken {
  const file = join(dataDir, ROOT_TOKEN_FILE);
  let created = false;
  let token: string;
  try {
    const fd = openSync(file, "wx", 0o600);
    token = ROOT_TOKEN_PREFIX + randomBytes(32).toString("base64url");
    try {
      writeSync(fd, `${token}\n`);
    } finally {
      closeSync(fd);
    }
    created = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new BkgError(ErrorCodes.InternalError, `cannot create the root token ${file}: ${(e as Error).message}`);
    }
    token = readFileSync(file, "utf8").trim();
    if (!token.startsWith(ROOT_TOKEN_PREFIX) || token.length < ROOT_TOKEN_PREFIX.length + 32) {
      throw new BkgError(ErrorCodes.InternalError, `${file} does not hold a root token (expected ${ROOT_TOKEN_PREFIX}...); delete it and restart to make a new one`);
    }
  }
  let modeFixed = false;
  if ((statSync(file).mode & 0o077) !== 0) {
    chmodSync(file, 0o600);
    modeFixed = true;
  }
  const want = digest(token);
  return {
    file,
    created,
    modeFixed,
    matches: (credential) => timingSafeEqual(digest(credential), want),
    reveal: () => token,
  };
}
