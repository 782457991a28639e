/**
 * A daemon with its HTTP/WebSocket control surface on a free loopback port, the echo plugin,
 * and the apikeys plugin as the auth provider, plus an API key scoped to echo.* created over
 * the (trusted) socket. Says why, instead, when the daemon has no such surface yet.
 */
import { createServer } from "node:net";
import { join } from "node:path";
import { bootDaemon, echoManifest, type BenchDaemon } from "./daemon.js";
import { ROOT } from "./paths.js";
import { sleep } from "./procs.js";

export interface Gateway {
  daemon: BenchDaemon;
  baseUrl: string;
  host: string;
  port: number;
  /** The API key's secret (Authorization: Bearer <key>). */
  key: string;
  /** The processes serving a call: the daemon, the echo plugin, the auth plugin. */
  pids: { daemon: number; plugin?: number; auth?: number };
}

/** A free TCP port on 127.0.0.1 (the OS picks; the tiny race with another binder is accepted). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export function apikeysManifest(root = ROOT): Record<string, unknown> {
  return {
    name: "apikeys",
    version: "1.0.0",
    command: ["node", "index.mjs"],
    cwd: join(root, "plugins", "apikeys"),
    provides: ["auth.validate", "auth.createKey"],
    permissions: [],
    restart: { policy: "always" },
    config: { bcryptRounds: 4 },
  };
}

/**
 * Boots the daemon with HTTP on; resolves with the gateway, or with the reason it is not there.
 * `root`: another built checkout whose daemon, echo and apikeys plugins to run (bench/tools/http-paired.ts).
 */
export async function bootGateway(config: Record<string, unknown> = {}, nodeArgs: string[] = [], root = ROOT): Promise<Gateway | { unavailable: string }> {
  const port = await freePort();
  const host = "127.0.0.1";
  const { http: httpExtra, ...rest } = config as { http?: Record<string, unknown> };
  let daemon: BenchDaemon;
  try {
    daemon = await bootDaemon({
      manifests: { echo: echoManifest("echo", { cwd: join(root, "plugins", "echo") }), apikeys: apikeysManifest(root) },
      nodeArgs,
      bin: join(root, "bin", "bkg"),
      // Rate limits would answer 429 within the first second of load: off for the benchmark.
      config: { http: { enabled: true, host, port, rateLimit: { perCredential: 0, perIp: 0 }, ...httpExtra }, ...rest },
    });
  } catch (e) {
    const msg = (e as Error).message;
    if (/rateLimit|additional propert|must NOT have additional/i.test(msg))
      return {
        unavailable: `the daemon's config has no HTTP settings beyond enabled/host/port yet (${
          msg
            .split("\n")
            .find((l) => /additional|rateLimit/.test(l))
            ?.trim() ?? "config rejected"
        })`,
      };
    throw e;
  }
  const baseUrl = `http://${host}:${port}`;
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    try {
      up = (await fetch(`${baseUrl}/health`)).ok;
    } catch {
      await sleep(50);
    }
  }
  if (!up) {
    await daemon.stop();
    return { unavailable: `nothing answers GET ${baseUrl}/health with http.enabled: the daemon has no HTTP gateway yet (issue 4)` };
  }
  await daemon.waitReady(["echo", "apikeys"]);
  const created = await daemon.client.call<{ key?: string }>("apikeys.auth.createKey", { name: "bench", role: "operator", scopes: ["echo.*"] });
  if (!created.key) throw new Error("apikeys.auth.createKey returned no key");
  const probe = await fetch(`${baseUrl}/api/call/echo/echo`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${created.key}` }, body: "{}" });
  if (!probe.ok) {
    const text = await probe.text();
    await daemon.stop();
    return { unavailable: `POST /api/call/echo/echo with an API key answered ${probe.status}: ${text.slice(0, 200)}` };
  }
  const [plugin] = await daemon.pluginPids("echo");
  const [auth] = await daemon.pluginPids("apikeys");
  return { daemon, baseUrl, host, port, key: created.key, pids: { daemon: daemon.pid, plugin, auth } };
}
