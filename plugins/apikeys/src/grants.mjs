/**
 * No credential may hand out more than it holds. The daemon passes `grantor` (the calling
 * principal's role and scopes) with every auth.createKey / rotateKey / createUser / setPassword
 * it forwards for an authenticated client; a call without it comes from the machine owner (the
 * unix socket) or a plugin the manifest allowed, and is not limited here.
 */
import { BkgError, ErrorCodes } from "@bkg/plugin-sdk";
import { ROLES } from "./schemas.mjs";

/** The permits() grammar of @bkg/protocol: does action pattern `pattern` cover `target` (a name or a pattern)? */
function coversAction(pattern, target) {
  if (pattern === "*" || pattern === target) return true;
  return pattern.endsWith(".*") && target.startsWith(pattern.slice(0, -1));
}

/**
 * Does scope `pattern` cover scope `target`? Both may end in ":<model glob>" (the daemon's
 * model-scopes.ts). A pattern without a model part covers any model; one with a model part covers
 * the same glob, or a narrower one when it is "<prefix>*" with no other wildcard.
 */
function covers(pattern, target) {
  const [pa, pm] = splitScope(pattern);
  const [ta, tm] = splitScope(target);
  if (!coversAction(pa, ta)) return false;
  if (pm === undefined || pm === "*" || pm === tm) return true;
  if (tm === undefined) return false;
  const prefix = pm.slice(0, -1);
  return pm.endsWith("*") && !/[*?]/.test(prefix) && tm.startsWith(prefix);
}

function splitScope(scope) {
  const colon = scope.indexOf(":");
  return colon < 0 ? [scope, undefined] : [scope.slice(0, colon), scope.slice(colon + 1)];
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
