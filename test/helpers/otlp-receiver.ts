/**
 * A tiny OTLP/HTTP receiver on 127.0.0.1 for the tracing tests: it keeps every span the daemon
 * exports (OTLP JSON, as @opentelemetry/exporter-trace-otlp-http sends it). `mode: "hang"`
 * accepts requests and never answers (a collector that is stuck).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
  serviceName?: string;
}

export interface OtlpReceiver {
  url: string;
  spans: OtlpSpan[];
  requests: number;
  close(): Promise<void>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
const value = (v: AnyValue) => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? v.boolValue));

export async function startOtlpReceiver(mode: "ok" | "hang" = "ok"): Promise<OtlpReceiver> {
  const held: ServerResponse[] = [];
  const r: OtlpReceiver = { url: "", spans: [], requests: 0, close: async () => undefined };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    r.requests++;
    if (mode === "hang") return void held.push(res);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as any;
      for (const rs of body.resourceSpans ?? []) {
        const service = (rs.resource?.attributes ?? []).find((a: { key: string }) => a.key === "service.name");
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? []) {
            const attributes: Record<string, unknown> = {};
            for (const a of s.attributes ?? []) attributes[a.key] = value(a.value);
            r.spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId || undefined,
              name: s.name,
              attributes,
              serviceName: service ? (value(service.value) as string) : undefined,
            });
          }
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  r.url = `http://127.0.0.1:${port}/v1/traces`;
  r.close = () =>
    new Promise<void>((resolve) => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return r;
}
