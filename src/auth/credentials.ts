/**
 * Where a credential comes from on each gateway. A credential is an API key (bkg_live_...), a
 * session JWT (from POST /auth/login) or the root token; the daemon never parses it beyond its
 * shape, the auth plugin (or the root-token check) decides.
 *
 *   HTTP / WebSocket upgrade:  Authorization: Bearer <credential>   or   X-API-Key: <credential>
 *   WebSocket first message:   {"action": "AUTH", "token": "<credential>"}
 *   gRPC metadata:             authorization: Bearer <credential>   or   x-api-key: <credential>
 *
 * Credentials in URLs (query strings) are not accepted: they end up in logs and browser history.
 */

/** Longest credential worth checking; anything longer is refused without asking the plugin. */
export const MAX_CREDENTIAL_LENGTH = 8192;

type HeaderValue = string | string[] | undefined;

function first(v: HeaderValue): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** "Bearer abc" -> "abc"; a bare value is returned trimmed; empty -> undefined. */
export function stripBearer(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value
    .trim()
    .replace(/^bearer\s+/i, "")
    .trim();
  return v === "" ? undefined : v;
}

/** The credential in HTTP headers (node lower-cases header names), or undefined. */
export function credentialFromHeaders(headers: Record<string, HeaderValue>): string | undefined {
  const auth = first(headers.authorization);
  if (auth !== undefined) {
    // Only the Bearer scheme; Basic and others are not ours.
    if (/^bearer\s+/i.test(auth.trim())) return stripBearer(auth);
    return undefined;
  }
  return stripBearer(first(headers["x-api-key"]));
}

/** The credential in gRPC metadata (`get` returns every value of a key). */
export function credentialFromMetadata(get: (key: string) => unknown[]): string | undefined {
  const str = (k: string) => {
    const v = get(k)[0];
    return typeof v === "string" ? v : Buffer.isBuffer(v) ? v.toString("utf8") : undefined;
  };
  return credentialFromHeaders({ authorization: str("authorization"), "x-api-key": str("x-api-key") });
}

/** The shapes a credential can have; anything else is refused without a round trip. */
export function credentialShape(c: string): "key" | "jwt" | "root" | undefined {
  if (c.length > MAX_CREDENTIAL_LENGTH) return undefined;
  if (c.startsWith("bkg_live_")) return "key";
  if (c.startsWith("bkg_root_")) return "root";
  if (/^[\w-]+\.[\w-]+\.[\w-]*$/.test(c)) return "jwt";
  return undefined;
}
