/**
 * What daemons say to each other over NATS: the subjects, the messages, and the checks that
 * tell a bkg message from anything else on the bus. Every message is JSON with `v`, the cluster
 * protocol's major version; a node speaking another major is refused with the reason.
 */

/** The cluster protocol's major version. Bump it only for changes an older node cannot read. */
export const CLUSTER_PROTOCOL = 1;

/** Subjects. `<node>` is a node id (NODE_ID_PATTERN: no dots, no wildcards). */
export const subjects = {
  /** Every node's plugins, on change and as a heartbeat. */
  announce: "bkg.v1.announce",
  /** Asks every node to announce now (a node that just started or reconnected). */
  discover: "bkg.v1.discover",
  /** A node leaving on purpose (its in-flight calls are being drained). */
  bye: "bkg.v1.bye",
  /** Calls for one node. */
  call: (node: string) => `bkg.v1.call.${node}`,
  /** Batch frames for one node: calls, cancellations and replies, many per message (batch-wire.ts). */
  batch: (node: string) => `bkg.v1.batch.${node}`,
  /** Cancellations for one node's calls. */
  cancel: (node: string) => `bkg.v1.cancel.${node}`,
  /** Liveness: answered while the node's connection is up; no responders once it is gone. */
  ping: (node: string) => `bkg.v1.ping.${node}`,
  /** Replies to one node run's calls; the last token is the call id. */
  replies: (node: string, run: string) => `bkg.v1.reply.${node}.${run}`,
  /** Lifecycle, plugin and audit events from one node. */
  events: "bkg.v1.events",
} as const;

export interface AnnouncedPlugin {
  name: string;
  version: string;
  /** A ready instance serves calls now. */
  ready: boolean;
  state: string;
  /** The manifest's timeouts.call: a forwarded call without a timeout gets it. */
  callTimeoutMs: number;
}

export interface Announce {
  v: number;
  node: string;
  /** One daemon run: tells a restarted node, or a second daemon with the same id, from the first. */
  run: string;
  version: string;
  hostname: string;
  pid: number;
  plugins: AnnouncedPlugin[];
  /** A client of this node reads plugin logs: other nodes send theirs too (they are not sent otherwise). */
  logs?: boolean;
  /** This node reads batch frames (batch-wire.ts BATCH_FORMAT); absent: send it single messages. */
  batch?: number;
}

export interface Bye {
  v: number;
  node: string;
  run: string;
}

export interface CallRequest {
  v: number;
  id: number;
  node: string;
  run: string;
  target: string;
  params: Record<string, unknown>;
  /** Milliseconds left when sent: the callee's clock may differ from ours, a duration does not. */
  budgetMs: number;
  caller: string;
  /** The caller wants progress values. */
  stream: boolean;
  traceparent?: string;
}

export interface CancelRequest {
  v: number;
  node: string;
  run: string;
  id: number;
}

/** A reply: a progress value, the result, or an error. */
export type CallReply = { t: "p"; v: unknown } | { t: "r"; v: unknown } | { t: "e"; code: number; message: string; data?: unknown };

export interface ClusterEvent {
  v: number;
  node: string;
  run: string;
  event: Record<string, unknown> & { kind: string };
}

const decoder = new TextDecoder();

/**
 * JSON as UTF-8 bytes. Buffer.from, not TextEncoder: a small Buffer is cut from Node's shared
 * 8 KiB pool, where TextEncoder allocates an ArrayBuffer per message (a malloc'd backing store
 * the GC must track and free); at tens of thousands of messages a second that showed as GC time
 * in the daemons' profiles (docs/benchmarks.md, cluster). The NATS client copies the bytes into
 * its own outbound buffer, so sharing the pool is safe.
 */
export function encode(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), "utf8");
}

/** Bytes JSON may start with besides "{" (a value that is not an object, told apart by parsing). */
const OTHER_JSON_STARTS = new Set([...'["-0123456789tfn'].map((c) => c.charCodeAt(0)));
const isSpace = (b: number | undefined) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * A parsed JSON object, or a reason it is not one. Never throws. Bytes that cannot start any
 * JSON value are turned away before JSON.parse: a parse that throws costs about 25 µs, and a
 * flood of junk on a bkg subject must not starve the real messages queued behind it.
 */
export function decodeObject(data: Uint8Array): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
  // TextDecoder drops a UTF-8 byte order mark; so do we.
  let i = data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf ? 3 : 0;
  while (isSpace(data[i])) i++;
  if (data[i] !== 0x7b && !OTHER_JSON_STARTS.has(data[i] ?? 0)) return { ok: false, reason: "not JSON" };
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return { ok: false, reason: "not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, reason: "not a JSON object" };
  return { ok: true, value: value as Record<string, unknown> };
}

const isStr = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= 256;
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);

/**
 * Why a message is not a bkg message of the expected kind, or undefined when it is. The version
 * is checked by the caller (a different `v` is not foreign, it is another bkg).
 */
export function foreignReason(kind: "announce" | "bye" | "call" | "cancel" | "event", m: Record<string, unknown>): string | undefined {
  if (!isInt(m.v)) return "no protocol version (v)";
  if (!isStr(m.node) || !isStr(m.run)) return "no node or run";
  switch (kind) {
    case "announce":
      if (!isStr(m.version) || !Array.isArray(m.plugins)) return "no version or plugins";
      for (const p of m.plugins as unknown[]) {
        const x = p as Partial<AnnouncedPlugin> | null;
        if (!x || !isStr(x.name) || !isStr(x.version) || typeof x.ready !== "boolean" || !isInt(x.callTimeoutMs)) return "a plugin entry without name, version, ready or callTimeoutMs";
      }
      return undefined;
    case "call":
      if (!isInt(m.id) || !isStr(m.target) || !isStr(m.caller)) return "no id, target or caller";
      if (typeof m.params !== "object" || m.params === null || Array.isArray(m.params)) return "params is not an object";
      if (typeof m.budgetMs !== "number" || !Number.isFinite(m.budgetMs)) return "no budgetMs";
      return typeof m.stream === "boolean" ? undefined : "no stream flag";
    case "cancel":
      return isInt(m.id) ? undefined : "no id";
    case "event": {
      const e = m.event as { kind?: unknown } | null;
      return e && typeof e === "object" && isStr(e.kind) ? undefined : "no event";
    }
    case "bye":
      return undefined;
  }
}
