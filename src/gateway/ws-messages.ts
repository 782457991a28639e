/**
 * The WebSocket protocol at /ws/plugins, one JSON object per text message.
 *
 * Client -> server:
 *   {"action": "AUTH", "token": "<credential>"}            first message, when no header carried one
 *   {"action": "SUB",   "topic": T, "plugin"?: "echo"}      T: status | logs | telemetry | events | models
 *   {"action": "UNSUB", "topic": T, "plugin"?: "echo"}
 *   {"action": "CALL",  "id": 1, "method": "echo.stream", "params"?: {...}, "timeoutMs"?: 5000, "traceparent"?: "00-..."}
 *   {"action": "CANCEL", "id": 1}
 *
 * Server -> client:
 *   {"type": "bootstrap", "payload": {"principal", "plugins", "telemetry"}}   once authenticated
 *   {"type": "subscribed" | "unsubscribed", "payload": {"topic", "plugin"}}
 *   {"type": "status", "payload": <lifecycle event>}     {"type": "events", "payload": <plugin event>}
 *   {"type": "logs", "payload": <log line>, "replay"?: true}   a SUB to logs first replays the last 100 lines
 *   {"type": "telemetry", "payload": {...}}              every 2 s while subscribed
 *   {"type": "progress", "id", "payload"}  then  {"type": "result", "id", "payload"}  or  {"type": "error", "id", "error"}
 *   {"type": "error", "error": {"code", "name", "message", "details"?}}     a message that could not be served
 *
 * Close codes: 4401 unauthenticated (or the credential was revoked), 4503 auth unavailable,
 * 1008 origin not allowed, 1013 the client reads too slowly, 1001 the daemon is stopping.
 */
import { BkgError, ErrorCodes } from "@bkg/protocol";

export const TOPICS = ["status", "logs", "telemetry", "events", "models"] as const;
export type WsTopic = (typeof TOPICS)[number];

export type ClientMessage =
  | { action: "AUTH"; token: string }
  | { action: "SUB"; topic: WsTopic; plugin?: string }
  | { action: "UNSUB"; topic: WsTopic; plugin?: string }
  | { action: "CALL"; id: string | number; method: string; params?: unknown; timeoutMs?: number; traceparent?: string }
  | { action: "CANCEL"; id: string | number };

export const CLOSE = { unauthenticated: 4401, unavailable: 4503, policy: 1008, tooSlow: 1013, goingAway: 1001 } as const;

const bad = (message: string) => new BkgError(ErrorCodes.InvalidRequest, message);
const isId = (v: unknown): v is string | number => (typeof v === "string" && v.length > 0 && v.length <= 200) || (typeof v === "number" && Number.isFinite(v));

/** Parses one text message; throws -32700 / -32600 with a message that says what to send instead. */
export function parseClientMessage(text: string): ClientMessage {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new BkgError(ErrorCodes.ParseError, `the message is not valid JSON: ${(e as Error).message}`);
  }
  if (!m || typeof m !== "object" || Array.isArray(m)) throw bad('a message must be a JSON object with "action"');
  const o = m as Record<string, unknown>;
  switch (o.action) {
    case "AUTH":
      if (typeof o.token !== "string" || !o.token) throw bad('AUTH needs "token": an API key, a session token or the root token');
      return { action: "AUTH", token: o.token };
    case "SUB":
    case "UNSUB":
      if (!TOPICS.includes(o.topic as WsTopic)) throw bad(`${o.action} needs "topic": one of ${TOPICS.join(", ")}`);
      if (o.plugin !== undefined && (typeof o.plugin !== "string" || !o.plugin)) throw bad('"plugin" must be a plugin name');
      return { action: o.action === "SUB" ? "SUB" : "UNSUB", topic: o.topic as WsTopic, plugin: o.plugin as string | undefined };
    case "CALL":
      if (!isId(o.id)) throw bad('CALL needs "id" (a string or number, echoed in the answers)');
      if (typeof o.method !== "string" || !o.method.includes(".")) throw bad('CALL needs "method" as plugin.method, e.g. "echo.reverse"');
      if (o.timeoutMs !== undefined && (typeof o.timeoutMs !== "number" || !(o.timeoutMs > 0))) throw bad('"timeoutMs" must be a positive number');
      // A traceparent is never refused: the router ignores one it cannot use (docs/tracing.md).
      return { action: "CALL", id: o.id, method: o.method, params: o.params, timeoutMs: o.timeoutMs as number | undefined, traceparent: typeof o.traceparent === "string" ? o.traceparent : undefined };
    case "CANCEL":
      if (!isId(o.id)) throw bad('CANCEL needs the "id" of a CALL');
      return { action: "CANCEL", id: o.id };
    default:
      throw bad(`unknown action ${JSON.stringify(o.action)}; actions are AUTH, SUB, UNSUB, CALL, CANCEL`);
  }
}
