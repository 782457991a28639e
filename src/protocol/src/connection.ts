/**
 * Adapters that plug bkg's framing into vscode-jsonrpc, so that connections keep the
 * library's request/response, cancellation and progress semantics while the bytes go
 * through FrameParser and FrameWriter.
 */
import type { Readable, Writable } from "node:stream";
import {
  AbstractMessageReader,
  AbstractMessageWriter,
  createMessageConnection,
  type DataCallback,
  type Disposable,
  type Message,
  type MessageConnection,
  type MessageReader,
  type MessageWriter,
} from "vscode-jsonrpc/node";
import { FrameParser, FrameWriter, type FramingError } from "./framing.js";

export interface FramedOptions {
  maxMessageBytes?: number;
  /** Sees every parsed message first; returning false drops it (e.g. after answering -32600). */
  accept?: (msg: unknown) => boolean;
}

export class FramedReader extends AbstractMessageReader implements MessageReader {
  private parser?: FrameParser;
  constructor(
    private readonly readable: Readable,
    private readonly options: FramedOptions = {},
  ) {
    super();
  }

  listen(callback: DataCallback): Disposable {
    this.parser = new FrameParser(
      this.options.accept
        ? (msg) => {
            if (this.options.accept!(msg)) callback(msg as Message);
          }
        : (msg) => callback(msg as Message),
      (err: FramingError) => this.fireError(err),
      { maxMessageBytes: this.options.maxMessageBytes },
    );
    const onData = (chunk: Buffer) => this.parser!.push(chunk);
    const onEnd = () => this.fireClose();
    const onError = (e: Error) => this.fireError(e);
    this.readable.on("data", onData);
    this.readable.on("end", onEnd);
    this.readable.on("close", onEnd);
    this.readable.on("error", onError);
    return {
      dispose: () => {
        this.readable.off("data", onData);
        this.readable.off("end", onEnd);
        this.readable.off("close", onEnd);
        this.readable.off("error", onError);
      },
    };
  }
}

export class FramedWriter extends AbstractMessageWriter implements MessageWriter {
  private readonly frames: FrameWriter;
  private closed = false;
  constructor(private readonly writable: Writable) {
    super();
    this.frames = new FrameWriter({
      write: (chunk) => {
        if (this.closed || this.writable.destroyed || this.writable.writableEnded) return false;
        return this.writable.write(chunk);
      },
    });
    writable.on("error", (e) => {
      this.closed = true;
      this.fireError(e);
    });
    writable.on("close", () => {
      this.closed = true;
      this.fireClose();
    });
  }

  async write(msg: Message): Promise<void> {
    this.frames.write(msg);
  }

  /** Writes a raw JSON-RPC message that vscode-jsonrpc would not send itself (e.g. -32700 with id null). */
  writeRaw(msg: unknown): void {
    this.frames.write(msg);
  }

  flush(): void {
    this.frames.flushNow();
  }

  end(): void {
    this.frames.flushNow();
    this.closed = true;
  }
}

export interface FramedConnection {
  connection: MessageConnection;
  reader: FramedReader;
  writer: FramedWriter;
}

/** A vscode-jsonrpc MessageConnection over a byte stream pair, using bkg framing. Not yet listening. */
export function createFramedConnection(input: Readable, output: Writable, options: FramedOptions = {}): FramedConnection {
  const reader = new FramedReader(input, options);
  const writer = new FramedWriter(output);
  const connection = createMessageConnection(reader, writer);
  return { connection, reader, writer };
}
