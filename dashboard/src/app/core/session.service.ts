import { Injectable, inject } from "@angular/core";
import { ApiService } from "./api.service";
import { AuthService, type Principal } from "./auth.service";
import { LiveService } from "./live.service";

/** Signing in and out: checks a credential with GET /auth/me, keeps it for the tab, opens the live link. */
@Injectable({ providedIn: "root" })
export class SessionService {
  private readonly api = inject(ApiService);
  private readonly auth = inject(AuthService);
  private readonly live = inject(LiveService);

  /** True when the tab's stored credential is still valid (after a reload, or a restarted daemon). */
  async restore(): Promise<boolean> {
    if (this.auth.principal()) return true;
    const token = this.auth.token();
    if (!token) return false;
    try {
      const me = await this.api.get<Principal>("/auth/me");
      this.auth.set(token, me);
      this.live.start();
      return true;
    } catch {
      return false;
    }
  }

  /** A username and password (a session token from /auth/login), or an API key / root token pasted as is. */
  async signIn(input: { username: string; password: string } | { key: string }): Promise<void> {
    let token: string;
    if ("key" in input) token = input.key.trim();
    else token = (await this.api.post<{ token: string }>("/auth/login", input)).token;
    this.auth.token.set(token);
    const me = await this.api.get<Principal>("/auth/me").catch((e) => {
      this.auth.clear();
      throw e;
    });
    this.auth.set(token, me);
    this.live.start();
  }

  signOut(): void {
    this.live.stop();
    this.auth.clear("Signed out.");
  }
}
