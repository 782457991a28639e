/**
 * The daemon's connection to NATS. The first connection is retried by us (every 500 ms, keeping
 * the reason it failed, so a remote call can say why it cannot be routed); once connected, the
 * client reconnects by itself, forever. The daemon never waits for NATS: local calls work without it.
 */
import { readFileSync } from "node:fs";
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import type { ClusterSettings } from "../config/index.js";
import type { Logger } from "../logs/index.js";
import type { BusLink } from "./remote-caller.js";

export interface LinkEvents {
  /** Connected for the first time; throwing (a duplicate node id) closes the link for good. */
  connected(nc: NatsConnection): Promise<void>;
  /** The connection dropped; the client is reconnecting. */
  disconnected(why: string): void;
  reconnected(): void;
}

const FIRST_CONNECT_RETRY_MS = 500;

export class NatsLink implements BusLink {
  private nc?: NatsConnection;
  private up = false;
  private reason = "it has not connected yet";
  private closed = false;
  private retry?: NodeJS.Timeout;
  private readonly options: ConnectionOptions;

  constructor(
    private readonly settings: ClusterSettings,
    name: string,
    private readonly logger: Logger,
    private readonly events: LinkEvents,
  ) {
    this.options = {
      servers: settings.nats.servers,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      // A cut-off server is noticed within about 4 s even when no TCP reset arrives.
      pingInterval: 2000,
      maxPingOut: 2,
      timeout: 2000,
      ...(settings.nats.token ? { token: settings.nats.token } : {}),
      ...(settings.nats.credentials ? { authenticator: credsAuthenticator(readFileSync(settings.nats.credentials)) } : {}),
    };
  }

  connection(): NatsConnection | undefined {
    return this.up ? this.nc : undefined;
  }

  get servers(): string {
    return this.settings.nats.servers.join(", ");
  }

  downReason(): string {
    return `the cluster bus is not connected (NATS at ${this.servers}): ${this.reason}`;
  }

  get status(): { connected: boolean; servers: string[]; reason?: string; server?: string } {
    return { connected: this.up, servers: this.settings.nats.servers, ...(this.up ? { server: this.nc?.getServer() } : { reason: this.reason }) };
  }

  /** Tries to connect at once; resolves after the first attempt, connected or not (retries go on). */
  async start(): Promise<void> {
    await this.attempt();
  }

  private async attempt(): Promise<void> {
    if (this.closed) return;
    let nc: NatsConnection;
    try {
      nc = await connect(this.options);
    } catch (e) {
      const why = describe(e);
      if (why !== this.reason) this.logger.warn({ nats: this.servers }, `cannot reach NATS at ${this.servers}: ${why}; local calls work, calls to other nodes wait for it (retrying)`);
      this.reason = why;
      this.retry = setTimeout(() => void this.attempt().catch((err: Error) => this.logger.error({ nats: this.servers }, `left the cluster bus: ${err.message}`)), FIRST_CONNECT_RETRY_MS);
      this.retry.unref();
      return;
    }
    if (this.closed) return void nc.close();
    this.nc = nc;
    this.up = true;
    try {
      await this.events.connected(nc);
    } catch (e) {
      this.up = false;
      this.reason = (e as Error).message;
      this.closed = true;
      await nc.close().catch(() => undefined);
      throw e;
    }
    this.logger.info({ nats: nc.getServer() }, `joined the cluster bus (NATS at ${nc.getServer()})`);
    void this.watch(nc);
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") {
        this.up = false;
        this.reason = `lost the connection to ${s.server}; reconnecting`;
        this.logger.warn({ nats: s.server }, `lost the connection to NATS at ${s.server}: local calls go on, calls to other nodes fail until it is back (reconnecting)`);
        this.events.disconnected(this.reason);
      } else if (s.type === "reconnect") {
        this.up = true;
        this.logger.info({ nats: s.server }, `reconnected to NATS at ${s.server}`);
        this.events.reconnected();
      } else if (s.type === "error") {
        this.reason = describe(s.error);
      }
    }
  }

  /** Sends what is buffered and closes. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const nc = this.nc;
    this.up = false;
    this.reason = "the daemon is stopping";
    if (!nc || nc.isClosed()) return;
    await Promise.race([nc.drain().catch(() => nc.close()), new Promise((r) => setTimeout(r, 2000).unref())]);
    if (!nc.isClosed()) await nc.close().catch(() => undefined);
  }
}

function describe(e: unknown): string {
  const err = e as { message?: string; code?: string; cause?: { message?: string; code?: string } };
  const parts = [err?.message, err?.cause?.message ?? err?.cause?.code].filter((x): x is string => typeof x === "string" && x.length > 0);
  return [...new Set(parts)].join(": ") || String(e);
}
