/**
 * Our calls to plugins on other nodes. To a node that reads batch frames, a call is queued in the
 * batch outbox (one frame per node per event-loop turn) and its replies come back in the node's
 * frames; to a node that does not, one request message per call to the node's call subject, with
 * replies (progress values in order, then the result or an error) on a reply subject that names
 * the call. Cancellation (the caller's, or the deadline) answers the caller at once and tells the
 * node, which sends $/cancelRequest to its plugin. Settles each call exactly once.
 */
import { BkgError, ErrorCodes, type CancelToken } from "@bkg/protocol";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import type { RouteOptions } from "../bus/index.js";
import type { BatchOutbox } from "./batch-outbox.js";
import { readReplyItem, type CallItem } from "./batch-wire.js";
import type { RemoteNode } from "./membership.js";
import { CLUSTER_PROTOCOL, decodeObject, encode, subjects, type CallReply, type CallRequest, type CancelRequest } from "./wire.js";

/** The node's call subject had no subscriber: the call never reached it, so it may go elsewhere. */
export class NotDelivered extends Error {
  constructor(readonly node: string) {
    super(`node ${node} has no subscriber for its calls`);
  }
}

interface Pending {
  node: RemoteNode;
  target: string;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  onProgress?: (v: unknown) => void;
  cancel: CancelToken;
  onAbort: (reason?: unknown) => void;
  /** The batch frame the call went in (0: a single message). */
  batch: number;
}

export interface BusLink {
  /** The connection while it is up. */
  connection(): NatsConnection | undefined;
  /** Why there is no connection, for error messages. */
  downReason(): string;
}

export class RemoteCaller {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly replyPrefix: string;

  constructor(
    private readonly self: { node: string; run: string },
    private readonly link: BusLink,
    /** A call ended: a slot on its node is free. */
    private readonly slotFreed: () => void = () => undefined,
    /** Where calls to nodes that read batch frames are queued; absent: single messages only. */
    private readonly outbox?: BatchOutbox,
  ) {
    this.replyPrefix = `${subjects.replies(self.node, self.run)}.`;
  }

  /** The prefix of this run's reply subjects (a batch frame's "no responders" subject starts with it too). */
  get replySubjectPrefix(): string {
    return this.replyPrefix;
  }

  /** The wildcard the caller's replies arrive on (one subscription for every call). */
  get replySubject(): string {
    return `${this.replyPrefix}*`;
  }

  /** Calls in flight on a node, as far as we know. */
  inflightOn(node: string): number {
    let n = 0;
    for (const p of this.pending.values()) if (p.node.node === node) n++;
    return n;
  }

  /** Sends a call; `traceparent` (the call's context for the node) goes with it when there is one. */
  send(node: RemoteNode, target: string, params: Record<string, unknown>, deadline: number, cancel: CancelToken, opts: RouteOptions, traceparent?: string): Promise<unknown> {
    const nc = this.link.connection();
    if (!nc) return Promise.reject(new BkgError(ErrorCodes.PluginUnavailable, `${target} is served by node ${node.node}, but ${this.link.downReason()}`));
    if (cancel.aborted) return Promise.reject(cancel.reason);
    const id = ++this.seq;
    const item: CallItem = { id, target, params, budgetMs: deadline - Date.now(), caller: opts.caller, stream: opts.onProgress !== undefined };
    if (traceparent) item.traceparent = traceparent;
    const outbox = node.batch ? this.outbox : undefined;
    let text: string | undefined;
    let body: Uint8Array | undefined;
    let size: number;
    let max: number | undefined;
    if (outbox) {
      text = JSON.stringify(item);
      size = Buffer.byteLength(text, "utf8");
      max = outbox.itemLimit();
    } else {
      const req: CallRequest = { v: CLUSTER_PROTOCOL, node: this.self.node, run: this.self.run, ...item };
      body = encode(req);
      size = body.length;
      max = nc.info?.max_payload;
    }
    if (max !== undefined && size > max) {
      return Promise.reject(new BkgError(ErrorCodes.InvalidParams, `the params for ${target} are ${size} bytes; the NATS server carries at most ${max} (its max_payload): raise it or send less`));
    }
    return new Promise((resolve, reject) => {
      const onAbort = (reason?: unknown) => {
        if (!this.pending.delete(id)) return;
        node.inflight--;
        this.slotFreed();
        if (outbox) outbox.cancel(node, id);
        else {
          const msg: CancelRequest = { v: CLUSTER_PROTOCOL, node: this.self.node, run: this.self.run, id };
          this.link.connection()?.publish(subjects.cancel(node.node), encode(msg));
        }
        reject(reason);
      };
      const p: Pending = { node, target, resolve, reject, onProgress: opts.onProgress, cancel, onAbort, batch: 0 };
      this.pending.set(id, p);
      node.inflight++;
      cancel.onAbort(onAbort);
      if (outbox) {
        p.batch = outbox.call(node, text!, size);
        return;
      }
      try {
        nc.publish(subjects.call(node.node), body!, { reply: this.replyPrefix + id });
      } catch (e) {
        this.settle(id, false, new BkgError(ErrorCodes.PluginUnavailable, `${target} could not be sent to node ${node.node}: ${(e as Error).message}`));
      }
    });
  }

  /** A message on our reply subject. Replies for calls already settled are dropped. */
  onReply(msg: Msg): void {
    const token = msg.subject.slice(this.replyPrefix.length);
    if (token.charCodeAt(0) === 0x62 /* "b": a batch frame's status */) {
      if (msg.headers?.code === 503) this.notDelivered(Number(token.slice(1)));
      return;
    }
    const id = Number(token);
    const p = this.pending.get(id);
    if (!p) return;
    if (msg.headers?.code === 503) {
      this.settle(id, false, new NotDelivered(p.node.node));
      return;
    }
    const d = decodeObject(msg.data);
    this.deliver(id, p, d.ok ? (d.value as CallReply) : undefined);
  }

  /** The replies of a batch frame from node `from` (already checked to be for this run). */
  onBatchReplies(from: string, replies: unknown[]): void {
    for (const item of replies) {
      const r = readReplyItem(item);
      const p = r && this.pending.get(r.id);
      if (!r || !p || p.node.node !== from) continue;
      if (r.t === "n") this.settle(r.id, false, new NotDelivered(from));
      else this.deliver(r.id, p, r);
    }
  }

  /** NATS found no subscriber for batch frame `seq`: its calls never reached the node. */
  private notDelivered(seq: number): void {
    for (const [id, p] of this.pending) if (p.batch === seq) this.settle(id, false, new NotDelivered(p.node.node));
  }

  /** Batch frame `seq` could not be published. */
  batchFailed(seq: number, why: string): void {
    for (const [id, p] of this.pending) {
      if (p.batch === seq) this.settle(id, false, new BkgError(ErrorCodes.PluginUnavailable, `${p.target} could not be sent to node ${p.node.node}: ${why}`));
    }
  }

  private deliver(id: number, p: Pending, r: CallReply | undefined): void {
    if (r?.t === "p") p.onProgress?.(r.v);
    else if (r?.t === "r") this.settle(id, true, r.v);
    else if (r?.t === "e" && typeof r.code === "number" && typeof r.message === "string") this.settle(id, false, new BkgError(r.code, r.message, r.data));
    else this.settle(id, false, new BkgError(ErrorCodes.InternalError, `node ${p.node.node} answered ${p.target} with a message that is not a bkg reply`));
  }

  /** Fails every call in flight on `node` (it is gone) with -33004. */
  failNode(node: string, why: string): number {
    let n = 0;
    for (const [id, p] of this.pending) {
      if (p.node.node !== node) continue;
      n++;
      this.settle(id, false, new BkgError(ErrorCodes.PluginCrashed, `${p.target} was in flight on node ${node}, which ${why}`));
    }
    return n;
  }

  /** Fails every call in flight (the bus connection is gone; their replies cannot reach us). */
  failAll(why: string): void {
    for (const [id, p] of this.pending) {
      this.settle(id, false, new BkgError(ErrorCodes.PluginUnavailable, `${p.target} was in flight on node ${p.node.node} when ${why}; it may have run there`));
    }
  }

  private settle(id: number, ok: boolean, value: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.node.inflight--;
    p.cancel.off(p.onAbort);
    this.slotFreed();
    if (ok) p.resolve(value);
    else p.reject(value);
  }
}
