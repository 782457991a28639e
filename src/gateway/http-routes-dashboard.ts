/**
 * The web dashboard (dashboard/, an Angular app built into static files by the install step),
 * served at / from the same fastify server: files by their path, and any other GET outside the
 * daemon's own prefixes falls back to index.html so deep links (/plugins/echo) load the app.
 * The files are public (the app asks for a credential itself); hashed bundles are cached for a
 * year, index.html never (a new build is picked up at the next load).
 */
import { existsSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply } from "fastify";
import { BkgError, ErrorCodes } from "@bkg/protocol";
import { toOpenAIError } from "./openai-errors.js";
import { toHttpError } from "./http-errors.js";
import { packagePath } from "../package-root.js";

/** Where `npm install` (the dashboard workspace's build) puts the app. */
export const DASHBOARD_DIR = packagePath("dashboard", "dist", "browser");

/** Paths that belong to the daemon: never answered with the app, so a typo under /api stays a JSON 404. */
const DAEMON_PREFIXES = ["/api", "/v1", "/auth", "/ws", "/metrics", "/health", "/ready", "/openapi.json"];

export function isDaemonPath(path: string): boolean {
  return DAEMON_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`) || path.startsWith(`${p}?`));
}

/**
 * Registers the dashboard routes when it is enabled; returns where it is served from, or null with
 * the reason when it is off or not built (GET / then says how to build it).
 */
export async function registerDashboardRoutes(app: FastifyInstance, enabled: boolean, dir = DASHBOARD_DIR): Promise<{ dir: string | null; reason?: string }> {
  if (!enabled) return { dir: null, reason: "http.dashboard is false" };
  const built = existsSync(join(dir, "index.html"));
  if (!built) {
    app.get("/", { config: { public: "always" }, schema: { hide: true } }, async (_req, reply) => {
      const e = new BkgError(ErrorCodes.MethodNotFound, "the dashboard is not built: run `npm run build -w dashboard` (npm install does it), then reload");
      return reply.code(404).send(toHttpError(e).body);
    });
    return { dir: null, reason: `${join(dir, "index.html")} is missing` };
  }
  await app.register(fastifyStatic, { root: dir, serve: false, decorateReply: true, cacheControl: false });
  const sendApp = (reply: FastifyReply) => reply.header("cache-control", "no-cache").header("x-content-type-options", "nosniff").sendFile("index.html");
  app.get("/", { config: { public: "always" }, schema: { hide: true } }, async (_req, reply) => sendApp(reply));
  app.get<{ Params: { "*": string } }>("/*", { config: { public: "always" }, schema: { hide: true } }, async (req, reply) => {
    const path = req.url.split("?")[0];
    if (isDaemonPath(path)) {
      const e = new BkgError(ErrorCodes.MethodNotFound, `no route ${req.method} ${path}; the routes are listed at GET /openapi.json`);
      // OpenAI's clients read /v1 errors in OpenAI's shape, as the /v1 routes' own 404 gives them.
      return reply.code(404).send(path === "/v1" || path.startsWith("/v1/") ? toOpenAIError(e).body : toHttpError(e).body);
    }
    const rel = normalize(req.params["*"]).replace(/^(\.\.[/\\])+/, "");
    if (extname(rel) && isFile(join(dir, rel))) {
      // Angular's bundles have content hashes in their names: safe to cache for good.
      const hashed = /-[A-Z0-9]{8}\.(js|css)$/.test(rel);
      return reply
        .header("cache-control", hashed ? "public, max-age=31536000, immutable" : "no-cache")
        .header("x-content-type-options", "nosniff")
        .sendFile(rel);
    }
    // A file-looking path that does not exist is a 404 (a stale bundle name), not the app.
    if (extname(rel)) {
      const e = new BkgError(ErrorCodes.MethodNotFound, `no file ${path} in the dashboard`);
      return reply.code(404).send(toHttpError(e).body);
    }
    return sendApp(reply);
  });
  return { dir };
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
