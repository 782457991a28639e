/**
 * A server-sent-events stream for the /v1 routes, opened lazily: the headers go out with the
 * first event, so a call that fails before producing anything still answers with its status
 * and a JSON error. OpenAI's framing: `data: <json>\n\n` per event, `data: [DONE]\n\n` last.
 */
import { PassThrough } from "node:stream";
import type { FastifyReply } from "fastify";

const KEEPALIVE_MS = 15_000;

export class SseWriter {
  private stream?: PassThrough;
  private keepalive?: NodeJS.Timeout;

  constructor(private readonly reply: FastifyReply) {}

  get opened(): boolean {
    return this.stream !== undefined;
  }

  private open(): PassThrough {
    if (this.stream) return this.stream;
    const stream = new PassThrough();
    this.stream = stream;
    this.keepalive = setInterval(() => stream.write(": keep-alive\n\n"), KEEPALIVE_MS);
    this.reply.header("content-type", "text/event-stream; charset=utf-8").header("cache-control", "no-cache").header("x-accel-buffering", "no");
    void this.reply.send(stream);
    return stream;
  }

  data(value: unknown): void {
    this.open().write(`data: ${JSON.stringify(value)}\n\n`);
  }

  /** An SSE comment line (clients skip it): opens the stream without an event. */
  comment(text: string): void {
    this.open().write(`: ${text}\n\n`);
  }

  /** Ends the stream; `done` writes OpenAI's `data: [DONE]` terminator first. */
  end(done: boolean): void {
    clearInterval(this.keepalive);
    this.open().end(done ? "data: [DONE]\n\n" : undefined);
  }
}
