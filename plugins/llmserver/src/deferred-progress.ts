/**
 * Streamed chunks sent after node-llama-cpp has dispatched the next decode, not before it.
 * A text chunk arrives in onTextChunk while the generation loop is about to queue the next
 * token's decode; a $/progress sent there is flushed by the SDK in a microtask, i.e. its JSON
 * and the pipe write (a synchronous syscall on Linux that also wakes the daemon) ran on this
 * thread before the decode started. Queued to setImmediate, they run while llama.cpp decodes on
 * its own thread. `drain()` sends what is still queued, before the call answers (the answer
 * must follow its last chunk).
 */
import type { Context } from "@bkg/plugin-sdk";

export class DeferredProgress {
  private queued: unknown[] = [];
  private scheduled = false;

  constructor(private readonly ctx: Context) {}

  send(value: unknown): void {
    this.queued.push(value);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  /** Sends every queued chunk now, in order. */
  drain(): void {
    this.scheduled = false;
    const values = this.queued;
    if (values.length === 0) return;
    this.queued = [];
    for (const v of values) this.ctx.progress(v);
  }
}
