/** A minimal keep-alive HTTP client with µs-resolution timing (autocannon's histogram has 1 ms steps). */
import { Agent, request } from "node:http";

/** One POST; resolves when the whole answer is read, rejects on a non-2xx status. */
export function post(agent: Agent, url: URL, headers: Record<string, string>, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent, headers: { ...headers, "content-length": Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode && res.statusCode < 300 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** `n` keep-alive connections (one agent with one socket each), for clients that must not share one. */
export function agents(n: number): Agent[] {
  return Array.from({ length: n }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
}
