/**
 * The daemon side of authentication, in the manner of Envoy's external authorization: the
 * daemon asks the auth plugin (`<auth.plugin>.auth.validate`) once per credential, caches the
 * answer briefly, and forgets it the moment the plugin emits `credential.revoked` (or the plugin
 * restarts). The root token is checked here, without the plugin.
 *
 * Contract of `authenticate(credential)`:
 *   - resolves with the Principal, or
 *   - rejects with -33005 Unauthenticated (missing, malformed, unknown, revoked, expired, forged), or
 *   - rejects with -33000 PluginUnavailable when the auth plugin cannot answer: guarded requests
 *     fail closed (503). The root token still works then.
 * The credential itself never reaches a log line or an error message.
 */
import { BkgError, ErrorCodes } from "@bkg/protocol";
import type { AuthSettings } from "../config/index.js";
import type { EventBus } from "../events/index.js";
import type { Logger } from "../logs/index.js";
import { ROLES, type Principal, type Role } from "./access-policy.js";
import { AuthCache } from "./auth-cache.js";
import { credentialShape } from "./credentials.js";
import { loadOrCreateRootToken, type RootToken } from "./root-token.js";

export type AuthOutcome = "root" | "cache" | "plugin" | "refused" | "unavailable";

export interface AuthenticatorDeps {
  settings: AuthSettings;
  dataDir: string;
  /** Routes a plugin call (the daemon's router). */
  call(target: string, params: unknown, opts: { caller: string; timeoutMs: number; traceparent?: string }): Promise<unknown>;
  bus: EventBus;
  logger: Logger;
  /** Counts each check's outcome (metrics). */
  onCheck?(outcome: AuthOutcome): void;
}

interface ValidateAnswer {
  valid: boolean;
  reason?: string;
  keyId?: string;
  principal?: { type?: string; id?: string; name?: string; role?: string; scopes?: unknown };
  expiresAt?: number | null;
}

const REFUSALS: Record<string, string> = {
  unknown: "the credential is not known (never issued, rotated away, or its user was deleted)",
  revoked: "the credential was revoked",
  expired: "the credential has expired; log in again (POST /auth/login) or ask for a rotated key",
  bad_signature: "the session token's signature does not verify (forged, tampered with, or from another installation)",
  invalid_claims: "the session token was not issued for bkg (wrong issuer or audience)",
  malformed: "the credential is malformed: expected an API key (bkg_live_...), a session token (JWT) or the root token",
};

export function unauthenticated(reason: string, message = (Object.hasOwn(REFUSALS, reason) ? REFUSALS[reason] : undefined) ?? `the credential was refused (${reason})`): BkgError {
  return new BkgError(ErrorCodes.Unauthenticated, message, { reason });
}

export const MISSING_CREDENTIAL =
  "a credential is required: send Authorization: Bearer <API key or session token> (or X-API-Key: <API key>); POST /auth/login exchanges a username and password for a session token";

export class Authenticator {
  readonly plugin: string;
  private readonly cache: AuthCache;
  private readonly root?: RootToken;
  private readonly revokedListeners = new Set<() => void>();
  private readonly unsubscribe: () => void;
  private lastUnavailable = 0;
  private revokedCount = 0;

  constructor(private readonly deps: AuthenticatorDeps) {
    this.plugin = deps.settings.plugin;
    this.cache = new AuthCache(deps.settings.cacheTtlMs);
    if (deps.settings.rootToken) {
      this.root = loadOrCreateRootToken(deps.dataDir);
      if (this.root.modeFixed) deps.logger.warn({ file: this.root.file }, `the root token file ${this.root.file} was readable by others; its mode is now 0600`);
    }
    const revokedEvent = `${this.plugin}.credential.revoked`;
    this.unsubscribe = deps.bus.subscribe({ plugin: this.plugin, topics: ["plugin", "lifecycle"] }, (e) => {
      if (e.kind === "plugin" && e.event !== revokedEvent) return;
      // A revocation, or the auth plugin changed state (restart, reload, stop): answers may be stale.
      this.cache.clear();
      if (e.kind === "plugin") {
        this.revokedCount++;
        for (const fn of this.revokedListeners) fn();
      }
    });
  }

  /** The root token, for printing once when it was just created. */
  get rootToken(): RootToken | undefined {
    return this.root;
  }

  /**
   * How many revocations this daemon has seen. A long-lived session that authenticates across an
   * await compares it before and after: a revocation in between found no session to re-check.
   */
  get revocations(): number {
    return this.revokedCount;
  }

  /** Called after every revocation (once the cache is clear), so long-lived sessions can re-check. */
  onRevoked(fn: () => void): () => void {
    this.revokedListeners.add(fn);
    return () => this.revokedListeners.delete(fn);
  }

  /**
   * Who `credential` is; see the file comment for the contract. `traceparent`: the trace of the
   * request being authenticated (its reserved span, Tracer.reserve), which the auth plugin's call
   * joins; requests that wait on the same check share the first one's call, in its trace.
   */
  async authenticate(credential: string | undefined, key?: string, traceparent?: string): Promise<Principal> {
    return this.cached(credential, key) ?? this.cache.shared((key ??= AuthCache.keyOf(credential!)), () => this.validate(credential!, key!, traceparent));
  }

  /**
   * The synchronous part of `authenticate`, for the hot paths: the Principal when the root token
   * or a cached answer settles it; throws what `authenticate` would for a missing, malformed or
   * wrong root credential; undefined when only the auth plugin can tell (then call `authenticate`).
   * `key` is `cacheKey(credential)`, for a caller that checks one credential many times (a
   * WebSocket session) and need not hash it again.
   */
  cached(credential: string | undefined, key?: string): Principal | undefined {
    if (credential === undefined || credential === "") throw unauthenticated("missing", MISSING_CREDENTIAL);
    const shape = credentialShape(credential);
    if (!shape) {
      this.deps.onCheck?.("refused");
      throw unauthenticated("malformed");
    }
    if (shape === "root") {
      if (this.root?.matches(credential)) {
        this.deps.onCheck?.("root");
        return { type: "root", id: "root", name: "root", role: "admin", scopes: ["*"], expiresAt: null };
      }
      this.deps.onCheck?.("refused");
      throw unauthenticated("unknown", this.root ? "the root token does not match (it is in <dataDir>/root.token)" : "root tokens are turned off (auth.rootToken: false)");
    }
    const hit = this.cache.get(key ?? AuthCache.keyOf(credential));
    if (hit) this.deps.onCheck?.("cache");
    return hit;
  }

  /** The cache key of a credential (its SHA-256; see AuthCache). */
  cacheKey(credential: string): string {
    return AuthCache.keyOf(credential);
  }

  /**
   * `cacheKey(credential)`, remembered for `holder` (an HTTP connection): a keep-alive connection
   * sends the same credential with every request, so it is hashed once per connection, not once
   * per request. The entry (credential and key) lives as long as the holder.
   */
  cacheKeyFor(holder: object, credential: string | undefined): string | undefined {
    if (credential === undefined) return undefined;
    const known = this.keysByHolder.get(holder);
    if (known !== undefined && known.credential === credential) return known.key;
    const key = AuthCache.keyOf(credential);
    this.keysByHolder.set(holder, { credential, key });
    return key;
  }
  private readonly keysByHolder = new WeakMap<object, { credential: string; key: string }>();

  private async validate(credential: string, key: string, traceparent: string | undefined): Promise<Principal> {
    const generation = this.cache.generation;
    let answer: ValidateAnswer;
    try {
      answer = (await this.deps.call(`${this.plugin}.auth.validate`, { credential }, { caller: "daemon:auth", timeoutMs: this.deps.settings.validateTimeoutMs, traceparent })) as ValidateAnswer;
    } catch (e) {
      const err = BkgError.from(e);
      if (err.code === ErrorCodes.InvalidParams) {
        this.deps.onCheck?.("refused");
        throw unauthenticated("malformed");
      }
      this.deps.onCheck?.("unavailable");
      const now = Date.now();
      if (now - this.lastUnavailable > 10_000) {
        this.lastUnavailable = now;
        this.deps.logger.warn({ plugin: this.plugin, code: err.code }, `cannot check credentials: ${err.message}`);
      }
      throw new BkgError(
        ErrorCodes.PluginUnavailable,
        `cannot check credentials: the auth plugin "${this.plugin}" did not answer (${err.message}); guarded requests are refused until it is back (the root token still works)`,
        { reason: "auth_unavailable", plugin: this.plugin, cause: err.code },
      );
    }
    const principal = answer?.valid === true ? toPrincipal(answer) : undefined;
    if (!principal) {
      this.deps.onCheck?.("refused");
      const reason = answer?.valid === true ? "malformed" : String(answer?.reason ?? "unknown");
      this.deps.logger.debug({ reason, keyId: answer?.keyId }, `credential refused: ${reason}`);
      throw unauthenticated(reason);
    }
    this.deps.onCheck?.("plugin");
    this.cache.set(key, principal, generation);
    return principal;
  }

  close(): void {
    this.unsubscribe();
    this.revokedListeners.clear();
    this.cache.clear();
  }
}

/** The plugin's principal as the daemon's type; undefined (refused) if it is not one we understand. */
function toPrincipal(a: ValidateAnswer): Principal | undefined {
  const p = a.principal;
  if (!p || (p.type !== "key" && p.type !== "user") || typeof p.id !== "string" || !ROLES.includes(p.role as Role)) return undefined;
  const scopes = Array.isArray(p.scopes) ? p.scopes.filter((s): s is string => typeof s === "string") : [];
  return { type: p.type, id: p.id, name: String(p.name ?? p.id), role: p.role as Role, scopes, expiresAt: typeof a.expiresAt === "number" ? a.expiresAt : null };
}
