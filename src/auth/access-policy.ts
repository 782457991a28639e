/**
 * Who may do what. Every guarded thing a gateway does has an action name: a plugin method for
 * calls ("echo.reverse") or a daemon action in the `bkg.` namespace ("bkg.plugins.stop"). A
 * principal may do it when BOTH
 *   1. its role is at least the action's minimum role (ACTIONS below; plugin calls need
 *      operator, and calls to the auth plugin itself need admin), and
 *   2. one of its scopes matches the action name, with the grammar of manifest permissions:
 *      "*", "echo.*", "echo.reverse", "bkg.plugins.*", "bkg.*". A scope may also name models:
 *      "llmserver.chat:smollm2-*" matches llmserver.chat only for a call whose model matches the
 *      glob after the colon (`*` any run of characters, `?` one); a call that names no model
 *      does not match it (model-scopes.ts).
 * Sessions (users logged in with a password) and the root token have scopes ["*"]: their role
 * alone decides. docs/http.md prints this table.
 */
import { BkgError, ErrorCodes } from "@bkg/protocol";
import { scopeAllows } from "./model-scopes.js";

export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Who a request acts as, once its credential has been checked. */
export interface Principal {
  /** key: an API key; user: a session JWT from auth.login; root: the daemon's root token. */
  type: "key" | "user" | "root";
  /** key_..., usr_..., or "root". Safe to log; never a secret. */
  id: string;
  name: string;
  role: Role;
  scopes: string[];
  /** Epoch ms, or null when it never expires. */
  expiresAt: number | null;
}

/** The minimum role of every daemon action. Reads are viewer, control is operator, auth is admin. */
export const ACTIONS = {
  "bkg.ready": "viewer",
  "bkg.status": "viewer",
  "bkg.config": "viewer",
  "bkg.metrics": "viewer",
  "bkg.openapi": "viewer",
  "bkg.events": "viewer",
  "bkg.plugins.list": "viewer",
  "bkg.plugins.info": "viewer",
  "bkg.plugins.secrets": "admin",
  "bkg.plugins.logs": "viewer",
  "bkg.plugins.telemetry": "viewer",
  "bkg.plugins.start": "operator",
  "bkg.plugins.stop": "operator",
  "bkg.plugins.reload": "operator",
  "bkg.plugins.restart": "operator",
  "bkg.models.list": "viewer",
  "bkg.models.info": "viewer",
  "bkg.models.pull": "operator",
  "bkg.models.rm": "operator",
  "bkg.models.verify": "operator",
  "bkg.keys.list": "admin",
  "bkg.keys.create": "admin",
  "bkg.keys.revoke": "admin",
  "bkg.keys.rotate": "admin",
  "bkg.users.list": "admin",
  "bkg.users.create": "admin",
  "bkg.users.delete": "admin",
  "bkg.audit": "admin",
} as const satisfies Record<string, Role>;

export type DaemonAction = keyof typeof ACTIONS;

const rank = (r: Role) => ROLES.indexOf(r);

/** The minimum role to call `target` (plugin.method): admin for the auth plugin, else operator. */
export function callRole(target: string, authPlugin: string): Role {
  return target.startsWith(`${authPlugin}.`) ? "admin" : "operator";
}

/** A short, loggable description of a principal: `key "ci" (key_abc)`. */
export function describePrincipal(p: Principal): string {
  return p.type === "root" ? "the root token" : `${p.type} "${p.name}" (${p.id})`;
}

/** The audit log's actor for changes a principal asks for. */
export function actorOf(p: Principal): string {
  return p.type === "root" ? "root" : `${p.type}:${p.name} (${p.id})`;
}

/**
 * Throws -33003 PermissionDenied, naming what is missing, unless `p` may do `action` with `minRole`.
 * `action` is a daemon action or a plugin method.
 */
export function authorize(p: Principal, action: string, minRole: Role, model?: string): void {
  if (rank(p.role) < rank(minRole)) {
    throw new BkgError(ErrorCodes.PermissionDenied, `${describePrincipal(p)} has role ${p.role}; ${action} needs ${minRole} or above`, {
      reason: "role",
      action,
      role: p.role,
      needs: minRole,
    });
  }
  if (!p.scopes.some((s) => scopeAllows(s, action, model))) {
    const what = model === undefined ? action : `${action} with model "${model}"`;
    throw new BkgError(ErrorCodes.PermissionDenied, `${describePrincipal(p)} may not do ${what}: its scopes are ${p.scopes.join(", ") || "(none)"}; an admin can issue a key with a matching scope`, {
      reason: "scope",
      action,
      ...(model === undefined ? {} : { model }),
      scopes: p.scopes,
    });
  }
}

/** authorize() for a daemon action from the table. */
export function authorizeAction(p: Principal, action: DaemonAction): void {
  authorize(p, action, ACTIONS[action]);
}

/** authorize() for a plugin call; `model` is the model the call names, if any (for model-scoped keys). */
export function authorizeCall(p: Principal, target: string, authPlugin: string, model?: string): void {
  authorize(p, target, callRole(target, authPlugin), model);
}
