/**
 * The HTTP access log line, one per request (http.accessLog, on by default).
 *
 * pino's `log.info(fields, msg)` serialises any object: per field a serializer lookup, a
 * stringifier lookup and its own string escaping, plus the merge object itself. That was 3-4% of
 * the daemon's CPU per request at 64 connections (issue 19's profiles). The access line always
 * has the same eight fields of known types, so when the logger is plain (no formatters, mixin,
 * hooks, redaction, nested key or message prefix: the daemon's own loggers) the line is written
 * straight to the logger's stream with the same bytes pino would write: its level and time
 * prefix, the logger's bindings, the fields, then "msg". Any other logger gets `log.info`.
 */
import { pino, type Logger } from "pino";

/** Writes one access log line (the caller checked that the access log is on). */
export type AccessLog = (reqId: string, cred: string | null, method: string, route: string, path: string, status: number, ms: number, ip: string) => void;

const INFO = 30;
const S = pino.symbols as Record<string, symbol>;

type PinoInternals = Record<symbol, unknown>;

/** Whether pino would add anything to a line beyond its prefix, bindings, fields and msg. */
function isPlain(log: Logger): boolean {
  const l = log as unknown as PinoInternals;
  const formatters = l[S.formattersSym] as { log?: unknown; level?: (label: string, n: number) => object } | undefined;
  const hooks = l[S.hooksSym] as { streamWrite?: unknown } | undefined;
  const stream = l[S.streamSym] as { write?: unknown; [k: symbol]: unknown } | undefined;
  const serializers = l[S.serializersSym] as Record<string, unknown> | undefined;
  const stringifiers = l[S.stringifiersSym] as Record<string | symbol, unknown> | undefined;
  const levelPrefix = (l[S.lsCacheSym] as Record<number, string> | undefined)?.[INFO];
  return (
    typeof stream?.write === "function" &&
    stream[S.needsMetadataGsym] !== true &&
    levelPrefix === `{"level":${INFO}` &&
    typeof l[S.timeSym] === "function" &&
    typeof l[S.chindingsSym] === "string" &&
    formatters?.log === undefined &&
    hooks?.streamWrite === undefined &&
    l[S.mixinSym] == null &&
    l[S.messageKeySym] === "msg" &&
    !l[S.nestedKeySym] &&
    !l[S.msgPrefixSym] &&
    l[S.endSym] === "}\n" &&
    (stringifiers === undefined || Reflect.ownKeys(stringifiers).length === 0) &&
    (serializers === undefined || !["reqId", "cred", "method", "route", "path", "status", "ms", "ip", "msg"].some((k) => typeof serializers[k] === "function"))
  );
}

export function accessLog(log: Logger): AccessLog {
  if (!isPlain(log)) {
    return (reqId, cred, method, route, path, status, ms, ip) => log.info({ reqId, cred, method, route, path, status, ms, ip }, `${method} ${path} ${status}`);
  }
  const l = log as unknown as PinoInternals;
  const time = l[S.timeSym] as () => string;
  const stream = l[S.streamSym] as { write(line: string): unknown };
  const prefix = `{"level":${INFO}`;
  const str = JSON.stringify;
  return (reqId, cred, method, route, path, status, ms, ip) => {
    // The level can change at run time (bkg's log level setting): pino swaps `info` for a no-op.
    if (!log.isLevelEnabled("info")) return;
    stream.write(
      `${prefix}${time()}${l[S.chindingsSym] as string},"reqId":${str(reqId)},"cred":${cred === null ? "null" : str(cred)},"method":${str(method)},"route":${str(route)},"path":${str(path)},"status":${status},"ms":${Number.isFinite(ms) ? ms : "null"},"ip":${str(ip)},"msg":${str(`${method} ${path} ${status}`)}}\n`,
    );
  };
}
