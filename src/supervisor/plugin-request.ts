/**
 * One request from the daemon to a plugin instance, as a single object: the promise its caller
 * awaits, the sink the protocol peer answers into (RpcPeer.send), the instance's record of it
 * (what `finish` rejects when the process dies), its timer and its cancellation hook.
 *
 * It replaced a promise wrapped around the peer's own promise and half a dozen closures per
 * call on the daemon's hottest path; it settles exactly once, whichever comes first.
 */
import { BkgError, ErrorCodes, RpcError, type CancelToken, type ResponseSink } from "@bkg/protocol";

export class PluginRequest implements ResponseSink {
  readonly promise: Promise<unknown>;
  private resolvePromise!: (value: unknown) => void;
  private rejectPromise!: (err: unknown) => void;
  timer?: NodeJS.Timeout;
  /** Runs before the peer's own callback on the same token, which sends $/cancelRequest. */
  readonly onAbort = (reason: unknown): void => this.fail(BkgError.from(reason ?? new BkgError(ErrorCodes.RequestCancelled, "cancelled")));

  constructor(
    private readonly key: number,
    /** "plugin.method", for error messages. */
    readonly what: string,
    /** The instance's open requests; being in it means "not settled yet". */
    private readonly open: Map<number, PluginRequest>,
    private readonly cancel: CancelToken | undefined,
    /** Runs once when the request settles, before its promise does. */
    private readonly settled: (() => void) | undefined,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolvePromise = resolve;
      this.rejectPromise = reject;
    });
    open.set(key, this);
  }

  /** The plugin's result. */
  resolve(result: unknown): void {
    if (this.close()) this.resolvePromise(result);
  }

  /**
   * From the peer: the plugin's error answer. A PeerClosedError is ignored: the connection broke
   * under the call, and the instance's exit rejects it with the exit's reason (`fail`).
   */
  reject(err: unknown): void {
    if (!(err instanceof RpcError)) return;
    if (this.close()) this.rejectPromise(new BkgError(err.code, err.message, err.data));
  }

  /** The daemon's own verdict: timeout, cancellation, the process gone, params not encodable. */
  fail(err: BkgError): void {
    if (this.close()) this.rejectPromise(err);
  }

  private close(): boolean {
    if (!this.open.delete(this.key)) return false;
    if (this.timer) clearTimeout(this.timer);
    this.cancel?.off(this.onAbort);
    this.settled?.();
    return true;
  }
}
