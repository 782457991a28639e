import type { Harness } from "./harness.js";

/** One conformance check. `run` returns when it passes and throws (CaseFailure) when not. */
export interface Case {
  name: string;
  run(h: Harness): Promise<void>;
  /** When set, the case is not run and is reported as skipped, with this as the reason. */
  skip?: string;
}

/** The outcome of one case. */
export interface CaseResult {
  name: string;
  /** Passed, or skipped (a skipped case is not a failure). */
  ok: boolean;
  /** Set when the case was not run (see `reason`). */
  skipped?: boolean;
  /** Why it failed: what was expected and what arrived; for a skipped case, why it was not run. */
  reason?: string;
  ms: number;
}
