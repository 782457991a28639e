import type { Logger } from "../logs/index.js";

/**
 * A refusal under attack happens thousands of times a second; one warn line per interval (with
 * the count of the others) keeps the log readable and cheap.
 */
export class ThrottledWarn {
  private last = 0;
  private suppressed = 0;
  constructor(
    private readonly log: Logger,
    private readonly everyMs = 5_000,
  ) {}
  warn(fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    if (now - this.last < this.everyMs) {
      this.suppressed++;
      return;
    }
    this.last = now;
    const more = this.suppressed;
    this.suppressed = 0;
    this.log.warn({ ...fields, suppressed: more }, more ? `${msg} (and ${more} more since the last such line)` : msg);
  }
}
