/**
 * Restart policy as data plus one pure function, after Erlang/OTP's supervisor: a restart
 * intensity (at most maxRestarts in windowMs) guards against crash loops, and an exponential
 * backoff with jitter spaces the attempts. The caller keeps the history; nothing here has a clock.
 */
import type { RestartSettings } from "../config/index.js";

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** How long the instance had been running, ms. */
  uptimeMs: number;
}

export interface RestartHistory {
  /** Times (epoch ms) of recent restarts, oldest first. */
  restarts: number[];
  /** Consecutive failures since the last stable run; drives the backoff exponent. */
  attempt: number;
}

export type RestartDecision =
  | { action: "restart"; delayMs: number; history: RestartHistory }
  | { action: "crashloop"; reason: string; history: RestartHistory }
  | { action: "stop"; reason: string; history: RestartHistory };

export const EMPTY_HISTORY: RestartHistory = { restarts: [], attempt: 0 };

/** Was the exit a failure, as the on-failure policy sees it? */
export function isFailure(exit: ExitInfo): boolean {
  return exit.signal !== null || exit.code !== 0;
}

/**
 * Decides what follows an unexpected exit. `random` is in [0, 1) and spreads the delay by
 * ±jitter; pass 0.5 for no jitter.
 */
export function decide(exit: ExitInfo, policy: RestartSettings, history: RestartHistory, now: number, random = Math.random()): RestartDecision {
  if (policy.policy === "never") return { action: "stop", reason: "restart policy is never", history };
  if (policy.policy === "on-failure" && !isFailure(exit)) return { action: "stop", reason: "exited with code 0 (restart policy on-failure)", history };

  const stable = exit.uptimeMs >= policy.stableMs;
  const attempt = stable ? 0 : history.attempt;
  const recent = history.restarts.filter((t) => now - t < policy.windowMs);
  if (recent.length >= policy.maxRestarts) {
    return {
      action: "crashloop",
      reason: `${recent.length + 1} exits within ${Math.round(policy.windowMs / 1000)}s (limit ${policy.maxRestarts} restarts)`,
      history: { restarts: recent, attempt },
    };
  }
  const { initialMs, factor, maxMs, jitter } = policy.backoff;
  const base = Math.min(maxMs, initialMs * factor ** attempt);
  const delayMs = Math.max(0, Math.round(base * (1 + jitter * (2 * random - 1))));
  return { action: "restart", delayMs: Math.min(delayMs, maxMs), history: { restarts: [...recent, now], attempt: attempt + 1 } };
}

/** "exit code 3" / "signal SIGKILL" — how an exit is named in events and reports. */
export function describeExit(exit: Pick<ExitInfo, "code" | "signal">): string {
  return exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
}
