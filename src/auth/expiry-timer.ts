/**
 * A credential that expires while a stream is open (a WebSocket session, a gRPC Watch) must end
 * the stream then: calls re-check the credential, but a stream that only receives never asks.
 */
import type { Principal } from "./access-policy.js";

/** setTimeout's longest delay (about 24.8 days); a later expiry is reached in several steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Runs `onExpired` once `p.expiresAt` has passed (at once if it already has). Returns a function
 * that cancels it. A principal that never expires (root, keys without expiry) gets no timer.
 */
export function atExpiry(p: Principal, onExpired: () => void, now: () => number = Date.now): () => void {
  if (p.expiresAt === null) return () => undefined;
  const expiresAt = p.expiresAt;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = expiresAt - now();
    if (left <= 0) return onExpired();
    timer = setTimeout(arm, Math.min(left, MAX_DELAY_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
