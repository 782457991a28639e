/**
 * A W3C trace context (https://www.w3.org/TR/trace-context/) for a call the dashboard starts, so
 * the page can link to the trace the daemon records for it. Its sampled flag is set: a call a
 * person runs by hand is always recorded, whatever telemetry.tracing.sampleRatio is (the daemon
 * follows a caller's sampled flag).
 */
export interface StartedTrace {
  traceId: string;
  /** The dashboard's own span: the parent of the daemon's first span. */
  spanId: string;
  /** "00-<trace id>-<span id>-01", for the CALL's traceparent. */
  traceparent: string;
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** `fill` is crypto.getRandomValues in the browser; tests hand in their own. */
export function startTrace(fill: (b: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): StartedTrace {
  let traceId = hex(fill(new Uint8Array(16)));
  let spanId = hex(fill(new Uint8Array(8)));
  // All zeros is the spec's "invalid" id (the daemon would start a trace of its own): never send it.
  if (/^0+$/.test(traceId)) traceId = `${traceId.slice(0, 31)}1`;
  if (/^0+$/.test(spanId)) spanId = `${spanId.slice(0, 15)}1`;
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}
