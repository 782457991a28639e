/** autocannon (no bundled types) behind the few fields the HTTP scenario reads. */
import { createRequire } from "node:module";

export interface CannonOptions {
  url: string;
  method: "POST" | "GET";
  body?: string;
  headers?: Record<string, string>;
  connections: number;
  /** seconds */
  duration: number;
  /** hard cap on requests, so the run is bounded in count as well as time */
  amount?: number;
}

export interface CannonResult {
  reqPerSec: number;
  /** autocannon's latency histogram has 1 ms resolution. */
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  requests: number;
}

type Autocannon = (o: Record<string, unknown>, cb: (err: Error | null, r: AutocannonRaw) => void) => unknown;
interface AutocannonRaw {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}

const require = createRequire(import.meta.url);

export function cannon(o: CannonOptions): Promise<CannonResult> {
  const run = require("autocannon") as Autocannon;
  return new Promise((resolve, reject) => {
    run({ ...o, pipelining: 1, timeout: 10 }, (err, r) => {
      if (err) return reject(err);
      resolve({
        reqPerSec: r.requests.total / r.duration,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        non2xx: r.non2xx,
        errors: r.errors + r.timeouts,
        requests: r.requests.total,
      });
    });
  });
}
