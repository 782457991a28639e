import { Injectable, inject } from "@angular/core";
import { Router } from "@angular/router";
import { AuthService } from "./auth.service";

/** The daemon's error body: {"error": {code, name?, message, details?}}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: number,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/**
 * fetch() against the daemon that serves this page, with the tab's credential. A 401 clears the
 * credential and goes to the login page saying why; every other failure is an ApiError whose
 * message is the daemon's (they say what to do).
 */
@Injectable({ providedIn: "root" })
export class ApiService {
  private readonly auth = inject(AuthService);
  private readonly router = inject(Router);

  async request<T>(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal; accept?: string } = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: opts.accept ?? "application/json" };
    const token = this.auth.token();
    if (token) headers["authorization"] = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: opts.signal });
    } catch (e) {
      if ((e as Error).name === "AbortError") throw e;
      throw new ApiError(0, "the daemon cannot be reached (is it running?); the page retries when you reload or act again");
    }
    if (res.ok) return res;
    const err = await errorOf(res);
    if (res.status === 401 && path !== "/auth/login") {
      this.auth.clear(`Signed out: ${err.message}. Sign in again.`);
      void this.router.navigate(["/login"], { queryParams: { next: this.router.url } });
    }
    throw err;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request<T>(method, path, body);
    return (await res.json()) as T;
  }

  get<T>(path: string): Promise<T> {
    return this.json<T>("GET", path);
  }
  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.json<T>("POST", path, body);
  }
  delete<T>(path: string): Promise<T> {
    return this.json<T>("DELETE", path);
  }

  /** A plugin method through POST /api/call/:plugin/:method; resolves with its result. */
  async call<T>(plugin: string, method: string, params: unknown = {}): Promise<T> {
    const r = await this.post<{ result: T }>(`/api/call/${encodeURIComponent(plugin)}/${encodeURIComponent(method)}`, params);
    return r.result;
  }

  /** GET that answers null on 404: an API that does not exist on this daemon (yet), so its page hides. */
  async optional<T>(path: string): Promise<T | null> {
    try {
      return await this.get<T>(path);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  try {
    const b = (await res.json()) as { error?: { code?: number; message?: string; details?: Record<string, unknown> } };
    if (b.error?.message) return new ApiError(res.status, b.error.message, b.error.code, b.error.details);
  } catch {
    /* not JSON: fall through */
  }
  return new ApiError(res.status, `the daemon answered ${res.status} ${res.statusText}`);
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
