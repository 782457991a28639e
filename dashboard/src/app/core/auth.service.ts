import { Injectable, computed, signal } from "@angular/core";

export type Role = "viewer" | "operator" | "admin";
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Who the credential is, as GET /auth/me answers. */
export interface Principal {
  type: string;
  id: string;
  name: string;
  role: Role;
  scopes: string[];
  expiresAt: number | null;
}

const TOKEN_KEY = "bkg.token";

/**
 * The credential of this tab. Kept in sessionStorage: each tab logs in on its own and closing
 * the tab forgets it (a key pasted here is not left behind in localStorage).
 */
@Injectable({ providedIn: "root" })
export class AuthService {
  readonly token = signal<string | null>(sessionStorage.getItem(TOKEN_KEY));
  readonly principal = signal<Principal | null>(null);
  /** Why the user was sent back to the login page (an expired session, a revoked key). */
  readonly notice = signal<string | null>(null);
  readonly role = computed<Role>(() => this.principal()?.role ?? "viewer");

  /** Whether the principal's role is at least `min`. The server enforces it anyway; this only hides what would be refused. */
  can(min: Role): boolean {
    const p = this.principal();
    return !!p && RANK[p.role] >= RANK[min];
  }

  set(token: string, principal: Principal): void {
    sessionStorage.setItem(TOKEN_KEY, token);
    this.token.set(token);
    this.principal.set(principal);
    this.notice.set(null);
  }

  clear(notice: string | null = null): void {
    sessionStorage.removeItem(TOKEN_KEY);
    this.token.set(null);
    this.principal.set(null);
    this.notice.set(notice);
  }
}
