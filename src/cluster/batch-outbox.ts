/**
 * Calls, cancellations and replies for other nodes, queued per node (and run) and sent as one
 * batch frame per node when the event-loop turn ends (setImmediate: after every socket read of the
 * turn and the promise jobs it started, so the calls a client pipelined arrive together). A frame
 * that would pass the NATS server's max_payload is sent at once and a new one started; items keep
 * their order per node, so progress values stay in order and a cancel follows its call.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { frameText } from "./batch-wire.js";
import { CLUSTER_PROTOCOL, subjects } from "./wire.js";

export interface Peer {
  node: string;
  run: string;
}

/** Room kept in a frame for its head (v, node, run, to: ids of at most 256 characters) and brackets. */
const FRAME_OVERHEAD = 1024;
/** NATS's default max_payload, until the server said its own. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

interface Queue {
  to: Peer;
  calls: string[];
  cancels: number[];
  replies: string[];
  bytes: number;
  /** The frame's number when it carries calls (its "no responders" reply subject names it), else 0. */
  seq: number;
}

export class BatchOutbox {
  private readonly queues = new Map<string, Queue>();
  private scheduled = false;
  private seq = 0;
  private readonly flushAll = () => {
    this.scheduled = false;
    const queues = [...this.queues.values()];
    this.queues.clear();
    for (const q of queues) this.send(q);
  };

  constructor(
    private readonly self: Peer,
    private readonly connection: () => NatsConnection | undefined,
    /** Prefix of the reply subject a frame with calls is published with (`<prefix>b<seq>`). */
    private readonly replyPrefix: string,
    /** A frame with calls could not be published: its calls failed to leave. */
    private readonly failed: (seq: number, why: string) => void,
  ) {}

  /** Sends what is queued now (before the connection is drained and closed). */
  flush(): void {
    this.flushAll();
  }

  /** The most bytes one item may have (a call's or a reply's JSON text). */
  itemLimit(): number {
    return (this.connection()?.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - FRAME_OVERHEAD;
  }

  /** Queues a call's JSON text; returns the number of the frame it goes in. */
  call(to: Peer, text: string, bytes: number): number {
    const q = this.queue(to, bytes + 1);
    if (!q.seq) q.seq = ++this.seq;
    q.calls.push(text);
    return q.seq;
  }

  cancel(to: Peer, id: number): void {
    this.queue(to, 17).cancels.push(id);
  }

  reply(to: Peer, text: string, bytes: number): void {
    this.queue(to, bytes + 1).replies.push(text);
  }

  private queue(to: Peer, bytes: number): Queue {
    const key = `${to.node}\0${to.run}`;
    let q = this.queues.get(key);
    if (q && q.bytes + bytes > this.itemLimit()) {
      // Full: this one goes now (before the item that did not fit, so the order holds).
      this.queues.delete(key);
      this.send(q);
      q = undefined;
    }
    if (!q) {
      q = { to, calls: [], cancels: [], replies: [], bytes: 0, seq: 0 };
      this.queues.set(key, q);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flushAll);
      }
    }
    q.bytes += bytes;
    return q;
  }

  private send(q: Queue): void {
    const nc = this.connection();
    if (!nc) {
      if (q.seq) this.failed(q.seq, "the connection to NATS is down");
      return; // replies and cancels: the other node fails its calls when it sees us go
    }
    const text = frameText({ v: CLUSTER_PROTOCOL, node: this.self.node, run: this.self.run, to: q.to.run }, q.calls, q.cancels, q.replies);
    try {
      nc.publish(subjects.batch(q.to.node), Buffer.from(text, "utf8"), q.seq ? { reply: `${this.replyPrefix}b${q.seq}` } : undefined);
    } catch (e) {
      if (q.seq) this.failed(q.seq, (e as Error).message);
    }
  }
}
