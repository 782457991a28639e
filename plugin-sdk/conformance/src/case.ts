import type { Harness } from "./harness.js";

/** One conformance check. `run` returns when it passes and throws (CaseFailure) when not. */
export interface Case {
  name: string;
  run(h: Harness): Promise<void>;
}

/** The outcome of one case. */
export interface CaseResult {
  name: string;
  ok: boolean;
  /** Why it failed: what was expected and what arrived. */
  reason?: string;
  ms: number;
}
