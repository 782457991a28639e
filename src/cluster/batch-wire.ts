/**
 * The batch frame: one NATS message from one node to another carrying every call, cancellation
 * and reply the sender made for that node in one event-loop turn (batch-outbox.ts). Per-message
 * cost (nats.js's parser and dispatch, the client's write, nats-server's routing) is paid once per
 * frame instead of once per call. A node announces `batch: BATCH_FORMAT` when it reads frames on
 * its batch subject; a node that does not announce it is sent single messages (wire.ts).
 *
 *   { "v": 1, "node": sender, "run": sender's run, "to": receiver's run,
 *     "calls": [CallItem...]?, "cancels": [id...]?, "replies": [ReplyItem...]? }
 *
 * A frame with calls is published with a reply subject naming the frame (`<replies>.b<seq>`), so
 * NATS answers "no responders" for the whole frame when the receiver has no subscriber (gone):
 * those calls never reached it and may go elsewhere. Replies whose `to` is not the receiver's run
 * are for a previous run of it and are dropped.
 */
import type { CallReply, CallRequest } from "./wire.js";

/** The batch frame's format, announced by nodes that read it. */
export const BATCH_FORMAT = 1;

/** A call inside a frame: a CallRequest without the frame's v, node and run. */
export type CallItem = Omit<CallRequest, "v" | "node" | "run">;

/** A reply inside a frame: the call's id and a CallReply, or "n": not taken (the node is leaving; try another). */
export type ReplyItem = { id: number } & (CallReply | { t: "n" });

export interface BatchFrame {
  v: number;
  node: string;
  run: string;
  to: string;
  calls?: unknown[];
  cancels?: unknown[];
  replies?: unknown[];
}

const isStr = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= 256;
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
const isArrayOrAbsent = (v: unknown) => v === undefined || Array.isArray(v);

/** Why a decoded object is not a batch frame, or undefined when it is (items are checked one by one). */
export function frameReason(m: Record<string, unknown>): string | undefined {
  if (!isInt(m.v)) return "no protocol version (v)";
  if (!isStr(m.node) || !isStr(m.run) || !isStr(m.to)) return "no node, run or to";
  if (!isArrayOrAbsent(m.calls) || !isArrayOrAbsent(m.cancels) || !isArrayOrAbsent(m.replies)) return "calls, cancels or replies is not an array";
  return undefined;
}

/** Why a frame's call item is not a call, or undefined when it is. */
export function callItemReason(c: unknown): string | undefined {
  const m = c as Partial<CallItem> | null;
  if (typeof m !== "object" || m === null) return "a call that is not an object";
  if (!isInt(m.id) || !isStr(m.target) || !isStr(m.caller)) return "no id, target or caller";
  if (typeof m.params !== "object" || m.params === null || Array.isArray(m.params)) return "params is not an object";
  if (typeof m.budgetMs !== "number" || !Number.isFinite(m.budgetMs)) return "no budgetMs";
  return typeof m.stream === "boolean" ? undefined : "no stream flag";
}

/** A frame's reply item as a CallReply for call `id`, or undefined when it is not one. */
export function readReplyItem(r: unknown): ReplyItem | undefined {
  const m = r as { id?: unknown; t?: unknown; code?: unknown; message?: unknown } | null;
  if (typeof m !== "object" || m === null || !isInt(m.id)) return undefined;
  if (m.t === "p" || m.t === "r" || m.t === "n") return m as ReplyItem;
  if (m.t === "e" && isInt(m.code) && typeof m.message === "string") return m as ReplyItem;
  return undefined;
}

/** The frame's JSON text around its items, which are JSON text already (encoded once, when queued). */
export function frameText(head: { v: number; node: string; run: string; to: string }, calls: string[], cancels: number[], replies: string[]): string {
  let s = JSON.stringify(head).slice(0, -1);
  if (calls.length) s += `,"calls":[${calls.join(",")}]`;
  if (cancels.length) s += `,"cancels":[${cancels.join(",")}]`;
  if (replies.length) s += `,"replies":[${replies.join(",")}]`;
  return `${s}}`;
}
