/**
 * Calls that other nodes send us: each goes through our router like a local call (params
 * validation, the plugin's bulkhead, deadline, $/cancelRequest to the plugin on cancel) but is
 * never forwarded again. Progress values go back in order on the call's reply subject, then the
 * result or the error. Each other node may have at most `maxInflightPerNode` calls here (its
 * bulkhead): beyond, -33002 at once.
 */
import { BkgError, CancelToken, ErrorCodes } from "@bkg/protocol";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { deadlineMessage } from "../bus/deadline-message.js";
import type { Router } from "../bus/index.js";
import { MAX_TIMEOUT_MS } from "../bus/router.js";
import { CLUSTER_PROTOCOL, decodeObject, encode, foreignReason, type CallReply, type CallRequest, type CancelRequest } from "./wire.js";

export type ForeignReporter = (subject: string, reason: string) => void;

export class RemoteServer {
  /** "node/run/id" -> the call's token. */
  private readonly active = new Map<string, { node: string; token: CancelToken; target: string }>();
  private readonly perNode = new Map<string, number>();

  constructor(
    private readonly self: { node: string },
    private readonly connection: () => NatsConnection | undefined,
    private readonly router: Router,
    private readonly maxInflightPerNode: number,
    private readonly foreign: ForeignReporter,
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
    if (req.v !== CLUSTER_PROTOCOL) {
      return this.reply(msg.reply, {
        t: "e",
        code: ErrorCodes.ProtocolMismatch,
        message: `node ${this.self.node} speaks cluster protocol ${CLUSTER_PROTOCOL}; the call from node ${req.node} used ${req.v}: run the same bkg major on every node`,
      });
    }
    const n = this.perNode.get(req.node) ?? 0;
    if (n >= this.maxInflightPerNode) {
      return this.reply(msg.reply, {
        t: "e",
        code: ErrorCodes.Overloaded,
        message: `node ${this.self.node} already serves ${n} calls from node ${req.node} (cluster.maxInflightPerNode); try again later`,
      });
    }
    if (req.budgetMs < 1) {
      return this.reply(msg.reply, { t: "e", code: ErrorCodes.DeadlineExceeded, message: deadlineMessage(req.target, req.budgetMs, ` (it reached node ${this.self.node} with no time left)`) });
    }
    const key = `${req.node}/${req.run}/${req.id}`;
    if (this.active.has(key)) return this.foreign(msg.subject, `call ${key} arrived twice`);
    const token = new CancelToken();
    this.active.set(key, { node: req.node, token, target: req.target });
    this.perNode.set(req.node, n + 1);
    const reply = msg.reply;
    this.router
      .call(req.target, req.params, {
        caller: `node:${req.node}/${req.caller}`,
        timeoutMs: Math.min(Math.ceil(req.budgetMs), MAX_TIMEOUT_MS),
        cancel: token,
        onProgress: req.stream ? (v) => this.reply(reply, { t: "p", v }) : undefined,
        traceparent: req.traceparent,
        fromNode: req.node,
      })
      .then(
        (v) => this.reply(reply, { t: "r", v: v === undefined ? null : v }),
        (e) => {
          const err = BkgError.from(e);
          this.reply(reply, { t: "e", code: err.code, message: err.message, ...(err.data === undefined ? {} : { data: err.data }) });
        },
      )
      .finally(() => {
        this.active.delete(key);
        const left = (this.perNode.get(req.node) ?? 1) - 1;
        if (left > 0) this.perNode.set(req.node, left);
        else this.perNode.delete(req.node);
      });
  }

  onCancel(msg: Msg): void {
    const d = decodeObject(msg.data);
    const why = d.ok ? foreignReason("cancel", d.value) : d.reason;
    if (why !== undefined || !d.ok) return this.foreign(msg.subject, why ?? "unreadable");
    const c = d.value as unknown as CancelRequest;
    const call = this.active.get(`${c.node}/${c.run}/${c.id}`);
    call?.token.abort(new BkgError(ErrorCodes.RequestCancelled, `${call.target} was cancelled by its caller on node ${c.node}`));
  }

  /** The node that sent these calls is gone: nobody waits for their answers. */
  dropNode(node: string): void {
    for (const call of this.active.values()) {
      if (call.node === node) call.token.abort(new BkgError(ErrorCodes.RequestCancelled, `${call.target} was cancelled: node ${node}, which called it, left the cluster`));
    }
  }

  private reply(subject: string, r: CallReply): void {
    const nc = this.connection();
    if (!nc) return; // the caller fails its call when it sees the bus go down
    let body = encode(r);
    const max = nc.info?.max_payload;
    if (max !== undefined && body.length > max) {
      body = encode({
        t: "e",
        code: ErrorCodes.InternalError,
        message: `the ${r.t === "p" ? "progress value" : "result"} is ${body.length} bytes; the NATS server carries at most ${max} (its max_payload): raise it or return less`,
      });
    }
    try {
      nc.publish(subject, body);
    } catch {
      /* closed meanwhile: the caller sees the bus go down */
    }
  }
}
