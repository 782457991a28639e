/**
 * No credential may hand out more than it holds. The daemon passes `grantor` (the calling
 * principal's role and scopes) with every auth.createKey / rotateKey / createUser / setPassword
 * it forwards for an authenticated client; a call without it comes from the machine owner (the
 * unix socket) or a plugin the manifest allowed, and is not limited here.
 */
import { BkgError, ErrorCodes } from "@bkg/plugin-sdk";
import { ROLES } from "./schemas.mjs";

/** The permits() grammar of @bkg/protocol: does scope `pattern` cover `target` (a name or a pattern)? */
function covers(pattern, target) {
  if (pattern === "*" || pattern === target) return true;
  return pattern.endsWith(".*") && target.startsWith(pattern.slice(0, -1));
}

/**
 * Throws -33003 (data.reason "exceeds_grantor") unless `grantor` holds `role` and every scope in
 * `scopes`. A user's sessions carry scopes ["*"], so creating a user or setting a password needs "*".
 * @param {{role: string, scopes: string[]} | undefined} grantor @param {string} role @param {string[]} scopes @param {string} what
 */
export function checkGrant(grantor, role, scopes, what) {
  if (!grantor) return;
  if (ROLES.indexOf(role) > ROLES.indexOf(grantor.role)) {
    throw new BkgError(ErrorCodes.PermissionDenied, `${what} would have role ${role}, above the caller's ${grantor.role}; a credential cannot grant more than it has`, {
      reason: "exceeds_grantor",
      role,
      grantorRole: grantor.role,
    });
  }
  const beyond = scopes.filter((s) => !grantor.scopes.some((g) => covers(g, s)));
  if (beyond.length) {
    throw new BkgError(
      ErrorCodes.PermissionDenied,
      `${what} would have scope(s) ${beyond.join(", ")}, not covered by the caller's scopes (${grantor.scopes.join(", ") || "none"}); a credential cannot grant more than it has`,
      { reason: "exceeds_grantor", scopes: beyond, grantorScopes: grantor.scopes },
    );
  }
}
