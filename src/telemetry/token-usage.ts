/**
 * Token usage of the model routes (/v1), per credential and per model, since the daemon started:
 * what `bkg top` shows under TOKENS and what bkg.telemetry.live returns as `tokens`. The same
 * numbers are Prometheus counters (bkg_llm_tokens_total, metrics.ts).
 */

export interface TokenUsageRow {
  /** The credential's id (key_..., usr_..., "root"); never the secret. */
  key: string;
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  lastAt: number;
}

/** More pairs than this and the oldest is dropped (keys and models are few; this bounds a flood of names). */
const MAX_ROWS = 10_000;

export class TokenUsage {
  private readonly rows = new Map<string, TokenUsageRow>();

  record(key: string, model: string, promptTokens: number, completionTokens: number, now = Date.now()): void {
    const id = `${key}\u0000${model}`;
    let row = this.rows.get(id);
    if (!row) {
      if (this.rows.size >= MAX_ROWS) this.rows.delete(this.rows.keys().next().value!);
      row = { key, model, requests: 0, promptTokens: 0, completionTokens: 0, lastAt: now };
      this.rows.set(id, row);
    }
    row.requests++;
    row.promptTokens += promptTokens;
    row.completionTokens += completionTokens;
    row.lastAt = now;
  }

  /** Every (key, model) pair, most tokens first. */
  list(): TokenUsageRow[] {
    return [...this.rows.values()].map((r) => ({ ...r })).sort((a, b) => b.promptTokens + b.completionTokens - (a.promptTokens + a.completionTokens));
  }
}
