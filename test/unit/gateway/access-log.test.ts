/**
 * The access log line written without pino's generic serialisation (src/gateway/access-log.ts):
 * byte for byte what log.info would write for the daemon's own loggers, JSON for any string, and
 * pino itself for a logger that would add anything (formatters, redaction, mixins).
 */
import { Writable } from "node:stream";
import { pino, type LoggerOptions } from "pino";
import t from "tap";
import { accessLog } from "../../../src/gateway/access-log.js";

/** A logger as createLogger makes its JSON ones (base pid), its http child, and what it wrote. */
function capture(options: LoggerOptions = {}) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  const log = pino({ level: "info", base: { pid: 4242 }, ...options }, stream).child({ component: "http" });
  return { log, lines };
}

const flush = () => new Promise((r) => setImmediate(r));
const withoutTime = (line: string) => line.replace(/,"time":\d+/, "");
const args = ["req-1", "key:bench (k1)", "POST", "/api/call/:plugin/:method", "/api/call/echo/echo", 200, 1.3, "127.0.0.1"] as const;

t.test("the same line as log.info, field order included", async (t) => {
  const { log, lines } = capture();
  accessLog(log)(...args);
  const [reqId, cred, method, route, path, status, ms, ip] = args;
  log.info({ reqId, cred, method, route, path, status, ms, ip }, `${method} ${path} ${status}`);
  await flush();
  t.equal(lines.length, 2);
  t.equal(withoutTime(lines[0]), withoutTime(lines[1]), "identical but for the time");
  t.match(lines[0], /^\{"level":30,"time":\d+,"pid":4242,"component":"http","reqId":"req-1",/);
  t.ok(lines[0].endsWith(',"msg":"POST /api/call/echo/echo 200"}\n'));
});

t.test("no credential is null; quotes and control characters stay valid JSON", async (t) => {
  const { log, lines } = capture();
  accessLog(log)('a"b\\c', null, "GET", "/x", '/x"\n', 401, 0.2, "::1");
  await flush();
  const parsed = JSON.parse(lines[0]);
  t.match(parsed, { reqId: 'a"b\\c', cred: null, path: '/x"\n', status: 401, ms: 0.2, ip: "::1", msg: 'GET /x"\n 401' });
});

t.test("a level above info writes nothing, also when changed after the writer was made", async (t) => {
  const { log, lines } = capture();
  const write = accessLog(log);
  log.level = "warn";
  write(...args);
  await flush();
  t.same(lines, []);
  log.level = "info";
  write(...args);
  await flush();
  t.equal(lines.length, 1);
});

t.test("a logger with formatters, redaction or a mixin goes through pino", async (t) => {
  for (const options of [{ formatters: { log: (o: Record<string, unknown>) => ({ ...o, formatted: true }) } }, { redact: ["ip"] }, { mixin: () => ({ mixed: true }) }] as LoggerOptions[]) {
    const { log, lines } = capture(options);
    accessLog(log)(...args);
    await flush();
    const parsed = JSON.parse(lines[0]);
    t.equal(parsed.reqId, "req-1");
    t.ok(parsed.formatted === true || parsed.ip === "[Redacted]" || parsed.mixed === true, `pino applied ${Object.keys(options)[0]}`);
  }
});
