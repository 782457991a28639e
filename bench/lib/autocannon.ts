/** autocannon (no bundled types) behind the few fields the HTTP scenario reads. */
import { createRequire } from "node:module";
import { cpuMicros } from "./procs.js";

export interface CannonOptions {
  url: string;
  method: "POST" | "GET";
  body?: string;
  headers?: Record<string, string>;
  connections: number;
  /** seconds */
  duration: number;
  /** autocannon's per-request setup (e.g. a different credential per request). */
  setupRequest?: (req: { headers?: Record<string, string> }) => { headers?: Record<string, string> };
  /** Processes whose CPU time is charged to the run, by role (µs per request in the result). */
  pids?: Record<string, number | undefined>;
}

export interface CannonResult {
  reqPerSec: number;
  /** autocannon's latency histogram has 1 ms resolution. */
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  requests: number;
  /** CPU µs per request of each role in opts.pids. */
  cpuByRole: Record<string, number>;
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
  const { pids, setupRequest, ...rest } = o;
  const opts = setupRequest ? { ...rest, requests: [{ method: rest.method, body: rest.body, setupRequest }] } : rest;
  const roles = Object.entries(pids ?? {}).filter((e): e is [string, number] => typeof e[1] === "number");
  const cpu0 = roles.map(([, pid]) => cpuMicros(pid));
  return new Promise((resolve, reject) => {
    run({ ...opts, pipelining: 1, timeout: 10 }, (err, r) => {
      if (err) return reject(err);
      const cpuByRole: Record<string, number> = {};
      roles.forEach(([role, pid], i) => (cpuByRole[role] = (cpuMicros(pid) - cpu0[i]) / Math.max(1, r.requests.total)));
      resolve({
        cpuByRole,
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
