/** Small helpers for speaking to the daemon's HTTP API in tests (Node's fetch). */

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export interface Request {
  body?: unknown;
  /** A raw body (sent as is, with the given headers). */
  raw?: string;
  headers?: Record<string, string>;
  token?: string;
  signal?: AbortSignal;
}

/** A client bound to a base URL and (optionally) a credential sent as Authorization: Bearer. */
export function api(base: string, token?: string) {
  return async (method: string, path: string, req: Request = {}): Promise<Answer> => {
    const tok = req.token ?? token;
    const headers: Record<string, string> = { ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...(req.body !== undefined ? { "content-type": "application/json" } : {}), ...req.headers };
    const r = await fetch(base + path, { method, headers, body: req.raw ?? (req.body === undefined ? undefined : JSON.stringify(req.body)), signal: req.signal });
    const text = await r.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: r.status, headers: r.headers, text, json };
  };
}

export interface SseEvent {
  event: string;
  id?: string;
  data: unknown;
}

/** Parses a whole text/event-stream body into its events (comments and keep-alives dropped). */
export function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split("\n\n")) {
    const lines = block.split("\n").filter((l) => l && !l.startsWith(":"));
    if (!lines.length) continue;
    const e: SseEvent = { event: "message", data: undefined };
    const data: string[] = [];
    for (const l of lines) {
      const i = l.indexOf(":");
      const k = l.slice(0, i);
      const v = l.slice(i + 1).replace(/^ /, "");
      if (k === "event") e.event = v;
      else if (k === "id") e.id = v;
      else if (k === "data") data.push(v);
    }
    e.data = JSON.parse(data.join("\n"));
    out.push(e);
  }
  return out;
}
