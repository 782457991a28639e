/**
 * Sessions, keys, users and the audit log, served by the auth plugin (auth.* methods). The
 * daemon authenticates and authorizes (admin for everything but login and /auth/me), then calls
 * the plugin with `actor` set to the principal, so the plugin's audit log says who did it.
 * The plugin's "not found" and "conflict" answers (-32602 with data.reason) become 404 and 409.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { BkgError, ErrorCodes } from "@bkg/protocol";
import { stampAuthCall } from "../auth/index.js";
import { HttpError } from "./http-errors.js";
import { principalOf } from "./request-principal.js";
import { anyObject, errorResponses } from "./http-schemas.js";
import type { SurfaceDeps } from "./surface-deps.js";

const role = { enum: ["viewer", "operator", "admin"] } as const;
const idParams = { type: "object", required: ["id"], properties: { id: { type: "string", minLength: 1, maxLength: 100 } } } as const;

export function registerAuthRoutes(app: FastifyInstance, { ctx, auth }: SurfaceDeps): void {
  const tags = ["auth"];
  const ok = { 200: anyObject, ...errorResponses };

  /** Calls <auth plugin>.auth.<method>, with the plugin's answers mapped to HTTP. */
  const callAuth = async (req: FastifyRequest, method: string, params: Record<string, unknown>, withActor = true): Promise<unknown> => {
    const p = req.principal;
    try {
      const target = `${auth.plugin}.auth.${method}`;
      return await ctx.router.call(target, withActor && p ? stampAuthCall(p, target, params, auth.plugin) : params, {
        caller: p ? `http:${p.id}` : `http:anonymous@${req.ip}`,
      });
    } catch (e) {
      const err = BkgError.from(e);
      const reason = (err.data as { reason?: string } | undefined)?.reason;
      if (err.code === ErrorCodes.InvalidParams && reason === "not_found") throw new HttpError(404, err.code, err.message, err.data);
      if (err.code === ErrorCodes.InvalidParams && reason === "conflict") throw new HttpError(409, err.code, err.message, err.data);
      if (err.code === ErrorCodes.MethodNotFound || err.code === ErrorCodes.PluginUnavailable || err.code === ErrorCodes.PluginCrashed) {
        throw new BkgError(ErrorCodes.PluginUnavailable, `the auth plugin "${auth.plugin}" cannot answer: ${err.message}`, { reason: "auth_unavailable", cause: err.code });
      }
      throw err;
    }
  };

  app.post<{ Body: { username: string; password: string } }>(
    "/auth/login",
    {
      config: { public: "always" },
      schema: {
        tags,
        summary: "Exchanges a username and password for a session token (JWT); wrong credentials: 401; throttled after failures, or too many logins in progress: 429 with Retry-After",
        security: [],
        body: { type: "object", required: ["username", "password"], additionalProperties: false, properties: { username: { type: "string", minLength: 1 }, password: { type: "string" } } },
        response: ok,
      },
    },
    // The client's address, so the plugin throttles failed logins per address and per (username, address).
    async (req) => callAuth(req, "login", { username: req.body.username, password: req.body.password, source: req.ip }, false),
  );

  app.get("/auth/me", { config: { action: "self" }, schema: { tags, summary: "Who the credential is: type, id, name, role, scopes, expiry", response: ok } }, async (req) => principalOf(req));

  app.get<{ Querystring: { owner?: string; includeRevoked?: boolean } }>(
    "/api/keys",
    {
      config: { action: "bkg.keys.list" },
      schema: { tags, summary: "API keys (metadata, never secrets)", querystring: { type: "object", properties: { owner: { type: "string" }, includeRevoked: { type: "boolean" } } }, response: ok },
    },
    async (req) => callAuth(req, "listKeys", { ...req.query }, false),
  );

  app.post<{ Body: Record<string, unknown> }>(
    "/api/keys",
    {
      config: { action: "bkg.keys.create" },
      schema: {
        tags,
        summary: "Creates an API key; the secret is in `key`, shown this once",
        body: {
          type: "object",
          required: ["name", "role", "scopes"],
          additionalProperties: false,
          properties: {
            name: { type: "string", minLength: 1 },
            role,
            scopes: { type: "array", minItems: 1, items: { type: "string" }, description: 'plugin.method patterns: "echo.*", "echo.reverse", "bkg.plugins.*", "*"' },
            expiresInDays: { type: "number" },
            owner: { type: "string", description: "user id or username; the key's role may not exceed the owner's" },
          },
        },
        response: { 201: anyObject, ...errorResponses },
      },
    },
    async (req, reply) => {
      const key = await callAuth(req, "createKey", req.body);
      return reply.code(201).send(key);
    },
  );

  app.delete<{ Params: { id: string }; Querystring: { reason?: string } }>(
    "/api/keys/:id",
    {
      config: { action: "bkg.keys.revoke" },
      schema: { tags, summary: "Revokes a key at once", params: idParams, querystring: { type: "object", properties: { reason: { type: "string" } } }, response: ok },
    },
    async (req) => callAuth(req, "revokeKey", { id: req.params.id, ...(req.query.reason ? { reason: req.query.reason } : {}) }),
  );

  app.post<{ Params: { id: string }; Body: { expiresInDays?: number } | undefined }>(
    "/api/keys/:id/rotate",
    {
      config: { action: "bkg.keys.rotate" },
      // No body schema: the body is optional ({expiresInDays?}), and the plugin checks it.
      schema: { tags, summary: "Gives a key a new secret (in `key`); the old one stops working at once. Optional body: {expiresInDays}", params: idParams, response: ok },
    },
    async (req) => {
      const body = req.body ?? {};
      if (typeof body !== "object" || Array.isArray(body)) throw new HttpError(400, ErrorCodes.InvalidParams, 'the body, if any, must be {"expiresInDays": <days>}');
      return callAuth(req, "rotateKey", { ...body, id: req.params.id });
    },
  );

  app.get("/api/users", { config: { action: "bkg.users.list" }, schema: { tags, summary: "Users (never password hashes)", response: ok } }, async (req) => callAuth(req, "listUsers", {}, false));

  app.post<{ Body: Record<string, unknown> }>(
    "/api/users",
    {
      config: { action: "bkg.users.create" },
      schema: {
        tags,
        summary: "Creates a user (password of 8 characters or more)",
        body: { type: "object", required: ["username", "password", "role"], additionalProperties: false, properties: { username: { type: "string" }, password: { type: "string" }, role } },
        response: { 201: anyObject, ...errorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(await callAuth(req, "createUser", req.body)),
  );

  app.delete<{ Params: { id: string } }>(
    "/api/users/:id",
    { config: { action: "bkg.users.delete" }, schema: { tags, summary: "Deletes a user (by id or username) and revokes their keys and sessions", params: idParams, response: ok } },
    async (req) => callAuth(req, "deleteUser", req.params.id.startsWith("usr_") ? { id: req.params.id } : { username: req.params.id }),
  );

  app.get<{ Querystring: { limit?: number; since?: number; action?: string } }>(
    "/api/audit",
    {
      config: { action: "bkg.audit" },
      schema: {
        tags,
        summary: "The audit log, newest first",
        querystring: { type: "object", properties: { limit: { type: "integer", minimum: 1, maximum: 1000 }, since: { type: "number", minimum: 0 }, action: { type: "string" } } },
        response: ok,
      },
    },
    async (req) => callAuth(req, "audit", { ...req.query }, false),
  );
}
