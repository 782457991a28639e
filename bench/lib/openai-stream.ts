/**
 * A streamed POST /v1/chat/completions over node:http (keep-alive), timed as the client sees
 * it: from just before the request is made to when a parsed `data:` chunk first carries text,
 * and to the last such chunk. node:http, not fetch: undici's fetch added 1-3 ms of its own per
 * request here (Request/Response objects, web streams) on both sides of the exchange, a cost
 * of that client and not of the server being measured; curl or an SDK over node:http pays it
 * neither.
 */
import { Agent, request } from "node:http";

export interface StreamTiming {
  /** performance.now() before the request was made. */
  t0: number;
  /** When the first chunk with text was parsed (0 if none came). */
  first: number;
  /** When the last chunk with text was parsed. */
  last: number;
  /** usage.completion_tokens of the finish chunk. */
  tokens: number;
}

export function streamChat(agent: Agent, url: URL, token: string, body: Record<string, unknown>): Promise<StreamTiming> {
  const payload = JSON.stringify({ ...body, stream: true });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(url, { method: "POST", agent, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (res) => {
      res.setEncoding("utf8");
      let text = "";
      if (res.statusCode !== 200) {
        res.on("data", (part: string) => (text += part));
        res.on("end", () => reject(new Error(`/v1/chat/completions answered ${res.statusCode}: ${text}`)));
        return;
      }
      let first = 0;
      let last = 0;
      let tokens = 0;
      res.on("data", (part: string) => {
        text += part;
        let i: number;
        while ((i = text.indexOf("\n\n")) >= 0) {
          const event = text.slice(0, i);
          text = text.slice(i + 2);
          if (!event.startsWith("data: {")) continue;
          const chunk = JSON.parse(event.slice(6)) as { choices: { delta: { content?: string } }[]; usage?: { completion_tokens: number }; error?: { message: string } };
          if (chunk.error) return reject(new Error(`the stream failed: ${chunk.error.message}`));
          if (chunk.choices[0]?.delta.content) {
            last = performance.now();
            if (!first) first = last;
          }
          if (chunk.usage) tokens = chunk.usage.completion_tokens;
        }
      });
      res.on("end", () => resolve({ t0, first, last, tokens }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}

export function keepAliveAgent(): Agent {
  return new Agent({ keepAlive: true });
}
