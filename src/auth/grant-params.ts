/**
 * The auth plugin's mutating methods (auth.createKey, auth.rotateKey, ...) can be reached on
 * every surface: the /api/keys routes, and as plain plugin calls over /api/call, the WebSocket
 * and gRPC. Whatever the surface, the daemon stamps the call with who asks (`actor`, for the
 * audit log; a client cannot name someone else) and, for the methods that hand out a credential,
 * with what that principal holds (`grantor`: role and scopes). The plugin refuses to create,
 * rotate or grant more than the grantor has, and audits the refusal (plugins/apikeys/README.md).
 * Calls without a principal (the unix socket, the machine owner's) are not stamped.
 */
import { actorOf, type Principal } from "./access-policy.js";

/** Methods whose audit entry names the actor. */
const ACTOR_METHODS = new Set(["createKey", "revokeKey", "rotateKey", "createUser", "deleteUser", "setPassword"]);
/** Methods that produce a credential someone can use: a key (new or rotated) or a user's password. */
const GRANT_METHODS = new Set(["createKey", "rotateKey", "createUser", "setPassword"]);

/**
 * `params` as the auth plugin must see them when `p` calls `target`: unchanged unless `target`
 * is one of the auth plugin's mutating methods, then with `actor` (and `grantor`) set from `p`.
 */
export function stampAuthCall(p: Principal, target: string, params: unknown, authPlugin: string): unknown {
  const prefix = `${authPlugin}.auth.`;
  if (!target.startsWith(prefix)) return params;
  const method = target.slice(prefix.length);
  if (!ACTOR_METHODS.has(method) || !params || typeof params !== "object" || Array.isArray(params)) return params;
  const stamped: Record<string, unknown> = { ...(params as Record<string, unknown>), actor: actorOf(p) };
  if (GRANT_METHODS.has(method)) stamped.grantor = { role: p.role, scopes: [...p.scopes] };
  return stamped;
}
