/**
 * Content-Length framing (the LSP base protocol), written for the hot path: one parser pass
 * takes every complete message out of a chunk, and the writer coalesces all messages queued
 * in one tick into a single write. The wire format is exactly vscode-jsonrpc's, so either
 * side may use either implementation.
 *
 * The parser is strict: the first bytes of every frame must be a header block with a
 * Content-Length, so a peer that prints to stdout is caught at its first byte instead of
 * being buffered forever.
 */

export type FramingErrorKind = "header" | "too-large" | "json";

/** A framing failure. `header` and `too-large` are fatal for the stream; `json` is not. */
export class FramingError extends Error {
  readonly kind: FramingErrorKind;
  constructor(kind: FramingErrorKind, message: string) {
    super(message);
    this.name = "FramingError";
    this.kind = kind;
  }
  get fatal(): boolean {
    return this.kind !== "json";
  }
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
const MAX_HEADER_BYTES = 4096;
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface FrameParserOptions {
  maxMessageBytes?: number;
  /**
   * Sees each body before it is parsed; returning true means it was handled and is not parsed
   * (the pass-through path, see RawJson). Must not throw.
   */
  takeRaw?: (body: string) => boolean;
}

/**
 * Turns a byte stream into parsed JSON values. Not re-entrant; one per stream.
 * After a fatal error every further push is ignored.
 *
 * Linear in the frame size: while a frame's body is incomplete its chunks are kept in a list
 * and joined once when the last one arrives (a copy of the whole buffer per chunk made a 50 MB
 * frame cost ~40 s). `buffered` and `partialSince` let a server bound what half-sent frames hold.
 */
export class FrameParser {
  /** The bytes not yet consumed: `head` then `tail` (the chunks that arrived while a body was incomplete). */
  private head: Buffer = EMPTY;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private expected = -1;
  private dead = false;
  private since = 0;
  private readonly maxMessageBytes: number;
  private readonly takeRaw?: (body: string) => boolean;

  constructor(
    /** Each parsed message, with its body's length in UTF-16 units (a bound on how deeply it can nest). */
    private readonly onMessage: (msg: unknown, bodyLength: number) => void,
    private readonly onError: (err: FramingError) => void,
    options: FrameParserOptions = {},
  ) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.takeRaw = options.takeRaw;
  }

  /** Bytes held for a frame not yet complete (0 between frames). */
  get buffered(): number {
    return this.head.length + this.tailBytes;
  }

  /** When (Date.now()) the bytes now held began to arrive; 0 when nothing is held. */
  get partialSince(): number {
    return this.buffered === 0 ? 0 : this.since;
  }

  push(chunk: Buffer): void {
    if (this.dead || chunk.length === 0) return;
    if (this.buffered === 0) this.since = Date.now();
    if (this.expected >= 0 && this.head.length + this.tailBytes + chunk.length < this.expected) {
      // Still inside a body: keep the chunk, copy nothing.
      this.tail.push(chunk);
      this.tailBytes += chunk.length;
      return;
    }
    let buf: Buffer;
    if (this.tail.length > 0) {
      this.tail.push(chunk);
      buf = Buffer.concat([this.head, ...this.tail], this.head.length + this.tailBytes + chunk.length);
      this.tail = [];
      this.tailBytes = 0;
    } else buf = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
    let pos = 0;
    let completed = false;
    while (!this.dead) {
      if (this.expected < 0) {
        // Checked before looking for the header's end, so garbage is named the same way however it was chunked.
        if (pos < buf.length && !looksLikeHeaderStart(buf, pos)) {
          return this.fail("header", `expected a "Content-Length:" header, got ${preview(buf, pos)}`);
        }
        const end = buf.indexOf(CRLFCRLF, pos);
        if (end < 0) {
          if (buf.length - pos > MAX_HEADER_BYTES) {
            return this.fail("header", `expected a "Content-Length:" header, got ${preview(buf, pos)}`);
          }
          break;
        }
        const length = fastContentLength(buf, pos, end) ?? parseHeaders(buf.toString("ascii", pos, end));
        if (typeof length === "string") return this.fail("header", length);
        if (length > this.maxMessageBytes) {
          return this.fail("too-large", `message of ${length} bytes is over the limit of ${this.maxMessageBytes} bytes`);
        }
        this.expected = length;
        pos = end + 4;
      }
      if (buf.length - pos < this.expected) break;
      const body = buf.toString("utf8", pos, pos + this.expected);
      pos += this.expected;
      this.expected = -1;
      completed = true;
      if (this.takeRaw?.(body)) continue;
      let msg: unknown;
      try {
        msg = JSON.parse(body);
      } catch (e) {
        this.onError(new FramingError("json", `invalid JSON: ${(e as Error).message}`));
        continue;
      }
      this.onMessage(msg, body.length);
    }
    if (this.dead) return;
    // The rest (a header block, or the start of a body) as a view; copied out of a large joined
    // buffer, so that a few bytes left over do not keep a whole finished frame alive.
    this.head = pos >= buf.length ? EMPTY : pos > 0 && buf.length > RETAIN_LIMIT ? Buffer.from(buf.subarray(pos)) : buf.subarray(pos);
    // What is left began with this chunk if a frame ended in it; else it is the same frame as before.
    if (completed && this.head.length > 0) this.since = Date.now();
  }

  private fail(kind: FramingErrorKind, message: string): void {
    this.dead = true;
    this.head = EMPTY;
    this.tail = [];
    this.tailBytes = 0;
    this.onError(new FramingError(kind, message));
  }
}

const EMPTY = Buffer.alloc(0);
const RETAIN_LIMIT = 256 * 1024;
const HEADER_PREFIX = "content-";

/** While the header is incomplete, check that what we have could still be one. */
function looksLikeHeaderStart(buf: Buffer, pos: number): boolean {
  const n = Math.min(buf.length - pos, HEADER_PREFIX.length);
  for (let i = 0; i < n; i++) {
    const c = buf[pos + i] | 0x20;
    if (c !== HEADER_PREFIX.charCodeAt(i)) return false;
  }
  return true;
}

const CL = "content-length:";

/**
 * The common header block, exactly "Content-Length: <digits>" (any case, optional spaces),
 * read straight from the bytes; undefined for anything else, which parseHeaders then judges.
 */
function fastContentLength(buf: Buffer, pos: number, end: number): number | undefined {
  if (end - pos <= CL.length) return undefined;
  for (let i = 0; i < CL.length; i++) if ((buf[pos + i] | 0x20) !== CL.charCodeAt(i)) return undefined;
  let i = pos + CL.length;
  while (i < end && buf[i] === 0x20) i++;
  if (i === end || end - i > 15) return undefined;
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n;
}

/** Returns the content length, or a string saying what is wrong with the header block. */
function parseHeaders(block: string): number | string {
  let length = -1;
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) return `malformed header line ${JSON.stringify(line.slice(0, 80))} (expected "Content-Length: <bytes>")`;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === "content-length") {
      if (!/^\d+$/.test(value)) return `Content-Length is not a number: ${JSON.stringify(value.slice(0, 40))}`;
      length = Number(value);
    } else if (key === "content-type") {
      if (/charset=/i.test(value) && !/charset=utf-?8/i.test(value)) return `unsupported charset in ${JSON.stringify(value)}; only utf-8 is spoken`;
    }
  }
  return length < 0 ? "header block has no Content-Length" : length;
}

function preview(buf: Buffer, pos: number): string {
  return JSON.stringify(buf.toString("utf8", pos, Math.min(buf.length, pos + 60)));
}

/** Encodes one message as a frame (header + body) in a single string. */
export function encodeFrame(msg: unknown): string {
  return frameBody(JSON.stringify(msg));
}

/** A frame around a message already encoded as JSON. */
export function frameBody(body: string): string {
  return `Content-Length: ${Buffer.byteLength(body, "utf8")}\r\n\r\n${body}`;
}

export interface ByteSink {
  write(chunk: string): boolean;
}

/**
 * Frames per write at most. A tick that queues more writes every MAX_FRAMES_PER_WRITE at once,
 * so the reader starts on the first ones while this process goes on with the rest. Holding a
 * whole tick's frames for one write made the processes on a call's path take turns: a client
 * with 64 calls in flight, the daemon and the plugin each handled all 64 while the other two
 * waited, and three processes kept 1.1 of two cores busy (socket bench, issue 19). With 16 per
 * write they keep ~1.6 busy at the same CPU per call. Fewer than ~8 costs more in writes and
 * wake-ups than it gains.
 */
export const MAX_FRAMES_PER_WRITE = 16;

/**
 * Queues frames and writes them together at the end of the tick (or every
 * MAX_FRAMES_PER_WRITE frames). `flushNow` forces it, for the last message before exit.
 */
export class FrameWriter {
  private queue: string[] = [];
  private scheduled = false;
  constructor(private readonly sink: ByteSink) {}

  write(msg: unknown): void {
    this.writeFrame(encodeFrame(msg));
  }

  /** Queues a message already encoded as JSON text. */
  writeBody(body: string): void {
    this.writeFrame(frameBody(body));
  }

  private writeFrame(frame: string): void {
    this.queue.push(frame);
    if (this.queue.length >= MAX_FRAMES_PER_WRITE) return this.flushNow();
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flushNow());
    }
  }

  flushNow(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const data = this.queue.length === 1 ? this.queue[0] : this.queue.join("");
    this.queue = [];
    this.sink.write(data);
  }
}
