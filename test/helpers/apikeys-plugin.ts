/**
 * The apikeys plugin as a real process for tests: spawned with the BKG environment and a data
 * folder, spoken to with the protocol directly (Content-Length framing via @bkg/protocol).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createFramedConnection } from "@bkg/protocol/vscode-jsonrpc";
import type { MessageConnection } from "vscode-jsonrpc/node";

export const pluginDir = fileURLToPath(new URL("../../plugins/apikeys", import.meta.url));

// tap instruments child processes through NODE_OPTIONS; the plugin does not need it.
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_OPTIONS" && k !== "NODE_V8_COVERAGE" && !k.startsWith("BKG_")));

export interface RpcError {
  code: number;
  message: string;
  data?: any;
}
export interface Emitted {
  event: string;
  data: any;
}

export class Plugin {
  events: Emitted[] = [];
  stderr = "";
  exited: Promise<number | null>;
  private waiters: (() => void)[] = [];
  constructor(
    readonly child: ChildProcess,
    readonly conn: MessageConnection,
  ) {
    this.exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
    child.stderr!.on("data", (d) => (this.stderr += d));
    conn.onNotification("bkg/emit", (p: Emitted) => {
      this.events.push(p);
      for (const w of this.waiters.splice(0)) w();
    });
    conn.onNotification("bkg/log", () => {});
  }

  static async start(dataDir: string, config: Record<string, unknown>): Promise<{ plugin: Plugin; init: any }> {
    const child = spawn(process.execPath, ["index.mjs"], {
      cwd: pluginDir,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...baseEnv, BKG_PLUGIN_NAME: "apikeys", BKG_INSTANCE_ID: "apikeys#1", BKG_DATA_DIR: dataDir, BKG_PROTOCOL_VERSION: "1.0.0" },
    });
    const { connection } = createFramedConnection(child.stdout!, child.stdin!);
    const plugin = new Plugin(child, connection);
    connection.listen();
    const init = await connection.sendRequest("initialize", {
      protocolVersion: "1.0.0",
      daemon: { version: "0.1.0" },
      plugin: { name: "apikeys", instanceId: "apikeys#1", dataDir },
      config,
    });
    await connection.sendNotification("initialized", {});
    return { plugin, init };
  }

  call<T = any>(method: string, params: Record<string, unknown> = {}, caller = "cli"): Promise<T> {
    return this.conn.sendRequest(method, { ...params, _meta: { deadline: Date.now() + 30_000, caller } });
  }

  async fail(method: string, params: Record<string, unknown> = {}): Promise<RpcError> {
    try {
      const r = await this.call(method, params);
      throw new Error(`${method} should have failed but returned ${JSON.stringify(r)}`);
    } catch (e: any) {
      if (typeof e?.code !== "number") throw e;
      return { code: e.code, message: e.message, data: e.data };
    }
  }

  /** Resolves with the first emitted event (seen so far or later) that matches. */
  async waitEvent(match: (e: Emitted) => boolean, ms = 3000): Promise<Emitted> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.events.find(match);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no matching event; saw ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  async stop(): Promise<number | null> {
    await this.conn.sendRequest("shutdown", null);
    await this.conn.sendNotification("exit");
    const code = await this.exited;
    this.conn.dispose();
    return code;
  }
}
