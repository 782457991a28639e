/**
 * What the HTTP server's hooks put on a request, and what a route reads back: its principal.
 * Routes import this, never http-server.ts, so the server depends on its routes and not the
 * other way round.
 */
import { BkgError, ErrorCodes } from "@bkg/protocol";
import type { FastifyRequest } from "fastify";
import type { DaemonAction, Principal } from "../auth/index.js";
import type { OwnSpan } from "../tracing/index.js";
import type { RateKey } from "./rate-limiter.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** What the route needs: a daemon action (access-policy.ts), "call" (the plugin method in the URL), or "self" (any valid credential). */
    action?: DaemonAction | "call" | "self";
    /** "always": never needs a credential (POST /auth/login). Other routes are public only if http.publicRoutes lists them. */
    public?: "always";
  }
  interface FastifyRequest {
    principal: Principal | null;
    authError: BkgError | null;
    rateKey: RateKey;
    /** The call's span, reserved when the auth plugin checked the credential (its call is a child). */
    ownSpan: OwnSpan | null;
  }
}

/** The principal of a guarded route's request (the hooks guarantee it is there). */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new BkgError(ErrorCodes.Unauthenticated, "no credential was checked for this request");
  return req.principal;
}
