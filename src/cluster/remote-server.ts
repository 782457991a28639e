/**
 * Calls that other nodes send us: each goes through our router like a local call (params
 * validation, the plugin's bulkhead, deadline, $/cancelRequest to the plugin on cancel) but is
 * never forwarded again. Progress values go back in order, then the result or the error: on the
 * call's reply subject for a single call, in our next batch frame to the caller for a call that
 * came in one. Each other node may have at most `maxInflightPerNode` calls here (its
 * bulkhead): beyond, -33002 at once.
 */
import { BkgError, CancelToken, ErrorCodes } from "@bkg/protocol";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { deadlineMessage } from "../bus/deadline-message.js";
import type { Router } from "../bus/index.js";
import { MAX_TIMEOUT_MS } from "../bus/router.js";
import type { BatchOutbox, Peer } from "./batch-outbox.js";
import { callItemReason, type BatchFrame, type CallItem } from "./batch-wire.js";
import { CLUSTER_PROTOCOL, decodeObject, encode, foreignReason, type CallReply, type CallRequest, type CancelRequest } from "./wire.js";

export type ForeignReporter = (subject: string, reason: string) => void;

export class RemoteServer {
  /** "node/run/id" -> the call's token. */
  private readonly active = new Map<string, { node: string; token: CancelToken; target: string }>();
  private readonly perNode = new Map<string, number>();
  /** This node is leaving: calls in batch frames are answered "not taken" (single calls find no subscriber). */
  leaving = false;

  constructor(
    private readonly self: { node: string },
    private readonly connection: () => NatsConnection | undefined,
    private readonly router: Router,
    private readonly maxInflightPerNode: number,
    private readonly foreign: ForeignReporter,
    /** Where replies to calls that came in batch frames are queued. */
    private readonly outbox?: BatchOutbox,
  ) {}

  get inflight(): number {
    return this.active.size;
  }

  onCall(msg: Msg): void {
    const d = decodeObject(msg.data);
    const why = d.ok ? foreignReason("call", d.value) : d.reason;
    if (why !== undefined || !d.ok) {
      this.foreign(msg.subject, why ?? "unreadable");
      if (msg.reply) this.reply(msg.reply, { t: "e", code: ErrorCodes.InvalidRequest, message: `node ${this.self.node} got a message on ${msg.subject} that is not a bkg call: ${why}` });
      return;
    }
    const req = d.value as unknown as CallRequest;
    if (!msg.reply) return this.foreign(msg.subject, "a call without a reply subject");
    const reply = msg.reply;
    const answer = (r: CallReply) => this.reply(reply, r);
    if (req.v !== CLUSTER_PROTOCOL) return answer(this.protocolMismatch(req.node, req.v));
    this.serve(req.node, req.run, req, answer, msg.subject);
  }

  /** The calls and cancellations of a batch frame from another node (replies are the caller's). */
  onBatch(frame: BatchFrame, subject: string): void {
    const from = { node: frame.node, run: frame.run };
    for (const c of frame.calls ?? []) {
      const id = (c as { id?: unknown } | null)?.id;
      const answer = Number.isSafeInteger(id) ? (r: CallReply | { t: "n" }) => this.batchReply(from, id as number, r) : undefined;
      const why = callItemReason(c);
      if (why !== undefined) {
        this.foreign(subject, why);
        answer?.({ t: "e", code: ErrorCodes.InvalidRequest, message: `node ${this.self.node} got a batch frame on ${subject} with an item that is not a bkg call: ${why}` });
      } else if (frame.v !== CLUSTER_PROTOCOL) answer?.(this.protocolMismatch(frame.node, frame.v));
      else if (this.leaving) answer?.({ t: "n" });
      else this.serve(frame.node, frame.run, c as CallItem, answer!, subject);
    }
    for (const id of frame.cancels ?? []) {
      if (Number.isSafeInteger(id)) this.cancel(frame.node, frame.run, id as number);
      else this.foreign(subject, "a cancellation without an id");
    }
  }

  private protocolMismatch(node: string, v: number): CallReply {
    return {
      t: "e",
      code: ErrorCodes.ProtocolMismatch,
      message: `node ${this.self.node} speaks cluster protocol ${CLUSTER_PROTOCOL}; the call from node ${node} used ${v}: run the same bkg major on every node`,
    };
  }

  /** Runs one call from node `node` (run `run`) through our router; every answer goes to `answer`. */
  private serve(node: string, run: string, req: CallItem, answer: (r: CallReply) => void, subject: string): void {
    const n = this.perNode.get(node) ?? 0;
    if (n >= this.maxInflightPerNode) {
      return answer({
        t: "e",
        code: ErrorCodes.Overloaded,
        message: `node ${this.self.node} already serves ${n} calls from node ${node} (cluster.maxInflightPerNode); try again later`,
      });
    }
    if (req.budgetMs < 1) {
      return answer({ t: "e", code: ErrorCodes.DeadlineExceeded, message: deadlineMessage(req.target, req.budgetMs, ` (it reached node ${this.self.node} with no time left)`) });
    }
    const key = `${node}/${run}/${req.id}`;
    if (this.active.has(key)) return this.foreign(subject, `call ${key} arrived twice`);
    const token = new CancelToken();
    this.active.set(key, { node, token, target: req.target });
    this.perNode.set(node, n + 1);
    this.router
      .call(req.target, req.params, {
        caller: `node:${node}/${req.caller}`,
        timeoutMs: Math.min(Math.ceil(req.budgetMs), MAX_TIMEOUT_MS),
        cancel: token,
        onProgress: req.stream ? (v) => answer({ t: "p", v }) : undefined,
        traceparent: req.traceparent,
        fromNode: node,
      })
      .then(
        (v) => answer({ t: "r", v: v === undefined ? null : v }),
        (e) => {
          const err = BkgError.from(e);
          answer({ t: "e", code: err.code, message: err.message, ...(err.data === undefined ? {} : { data: err.data }) });
        },
      )
      .finally(() => {
        this.active.delete(key);
        const left = (this.perNode.get(node) ?? 1) - 1;
        if (left > 0) this.perNode.set(node, left);
        else this.perNode.delete(node);
      });
  }

  onCancel(msg: Msg): void {
    const d = decodeObject(msg.data);
    const why = d.ok ? foreignReason("cancel", d.value) : d.reason;
    if (why !== undefined || !d.ok) return this.foreign(msg.subject, why ?? "unreadable");
    const c = d.value as unknown as CancelRequest;
    this.cancel(c.node, c.run, c.id);
  }

  private cancel(node: string, run: string, id: number): void {
    const call = this.active.get(`${node}/${run}/${id}`);
    call?.token.abort(new BkgError(ErrorCodes.RequestCancelled, `${call.target} was cancelled by its caller on node ${node}`));
  }

  /** The node that sent these calls is gone: nobody waits for their answers. */
  dropNode(node: string): void {
    for (const call of this.active.values()) {
      if (call.node === node) call.token.abort(new BkgError(ErrorCodes.RequestCancelled, `${call.target} was cancelled: node ${node}, which called it, left the cluster`));
    }
  }

  /** A reply to a call that came in a batch frame: queued for the caller's next frame. */
  private batchReply(to: Peer, id: number, r: CallReply | { t: "n" }): void {
    const outbox = this.outbox;
    if (!outbox) return;
    let text = JSON.stringify({ id, ...r });
    let size = Buffer.byteLength(text, "utf8");
    const max = outbox.itemLimit();
    if (size > max) {
      text = JSON.stringify({ id, ...this.tooBig(r.t, size, max) });
      size = Buffer.byteLength(text, "utf8");
    }
    outbox.reply(to, text, size);
  }

  private tooBig(t: string, size: number, max: number): CallReply {
    return {
      t: "e",
      code: ErrorCodes.InternalError,
      message: `the ${t === "p" ? "progress value" : "result"} is ${size} bytes; the NATS server carries at most ${max} (its max_payload): raise it or return less`,
    };
  }

  private reply(subject: string, r: CallReply): void {
    const nc = this.connection();
    if (!nc) return; // the caller fails its call when it sees the bus go down
    let body = encode(r);
    const max = nc.info?.max_payload;
    if (max !== undefined && body.length > max) body = encode(this.tooBig(r.t, body.length, max));
    try {
      nc.publish(subject, body);
    } catch {
      /* closed meanwhile: the caller sees the bus go down */
    }
  }
}
