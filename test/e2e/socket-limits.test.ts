/**
 * The unix socket's connection limits (docs/config.md, "Connection limits"): a client that does
 * not read its answers, half-sent frames, too many clients. Each test talks to a real daemon over
 * raw sockets and asserts outcomes (who was dropped, who was answered, the daemon's peak RSS).
 */
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import t from "tap";
type Test = typeof t;
import { ErrorCodes, FrameParser, encodeFrame } from "@bkg/protocol";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

/** A raw client: every frame it receives, and whether the daemon closed it. */
interface Raw {
  socket: Socket;
  frames: { id?: unknown; result?: unknown; error?: { code: number; message: string } }[];
  closed: boolean;
}

function open(path: string, read = true): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const raw: Raw = { socket, frames: [], closed: false };
    const parser = new FrameParser(
      (m) => raw.frames.push(m as Raw["frames"][number]),
      () => undefined,
    );
    if (read) socket.on("data", (c: Buffer) => parser.push(c));
    else socket.pause();
    socket.on("close", () => (raw.closed = true));
    socket.on("error", () => undefined);
    socket.once("connect", () => resolve(raw));
    socket.once("error", reject);
  });
}

/** Peak resident set of a process, MB (VmHWM: the high-water mark, so a transient peak counts). */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function stillServes(t: Test, d: TestDaemon): Promise<void> {
  t.same(await d.client.call("echo.reverse", { text: "abc" }), "cba", "another client is still answered");
}

t.test("regression: a socket client that sends 10k calls and never reads its answers is paused (the daemon grew to 920 MB)", async (t) => {
  const d = await startTestDaemon();
  t.teardown(() => d.stop());
  await stillServes(t, d);
  const rssBefore = peakRssMb(d.proc.pid!);
  const hog = await open(d.socketPath, false);
  t.teardown(() => hog.socket.destroy());
  const blob = "x".repeat(16 * 1024);
  let sent = 0;
  const paused = () => d.output().includes("stopped reading from") || d.output().includes("socket.outputDropBytes");
  // 10k calls of 16 KiB answers: 160 MB of answers the client never reads. It writes while its
  // own buffer takes it, and stops once the daemon says it paused (or dropped) it.
  for (; sent < 10_000 && !hog.closed && !paused(); sent++) {
    const ok = hog.socket.write(encodeFrame({ jsonrpc: "2.0", id: sent, method: "echo.echo", params: { blob } }));
    if (!ok) await d.waitFor(() => hog.socket.writableLength === 0 || hog.closed || paused(), "the daemon to read or pause the client", 60_000);
  }
  await d.waitFor(() => paused() || hog.closed, "the daemon to pause or drop the client that does not read", 60_000);
  t.ok(sent < 10_000, `the daemon stopped reading after ${sent} of 10000 calls`);
  await stillServes(t, d);
  const rssAfter = peakRssMb(d.proc.pid!);
  t.ok(rssAfter - rssBefore < 150, `the daemon's peak RSS grew by ${Math.round(rssAfter - rssBefore)} MB (from ${Math.round(rssBefore)} MB), under 150 MB`);
  // Reading again resumes it: the answers arrive, then the daemon reads the rest.
  const got: unknown[] = [];
  const parser = new FrameParser(
    (m) => got.push(m),
    () => undefined,
  );
  hog.socket.on("data", (c: Buffer) => parser.push(c));
  hog.socket.resume();
  await d.waitFor(() => got.length >= sent || hog.closed, "the paused client's answers once it reads", 60_000);
  t.equal(got.length, sent, "every call it sent is answered once it reads");
});

t.test("a socket client whose unread answers pass socket.outputDropBytes is disconnected", async (t) => {
  const d = await startTestDaemon(undefined, { socket: { outputPauseBytes: 1024, outputDropBytes: 65536 } });
  t.teardown(() => d.stop());
  const hog = await open(d.socketPath, false);
  t.teardown(() => hog.socket.destroy());
  // Four answers of 1 MB asked for in one write: more than the socket's buffer and the drop mark.
  const blob = "x".repeat(1_000_000);
  hog.socket.write(Array.from({ length: 4 }, (_, id) => encodeFrame({ jsonrpc: "2.0", id, method: "echo.echo", params: { blob } })).join(""));
  await d.logLine("socket.outputDropBytes", "the daemon to drop the client");
  hog.socket.on("data", () => undefined);
  hog.socket.resume();
  await d.waitFor(() => hog.closed, "the connection to be closed");
  await stillServes(t, d);
});

t.test("regression: stalled half-frames are released at socket.frameTimeoutMs (10 held 479 MB)", async (t) => {
  const d = await startTestDaemon(undefined, { socket: { frameTimeoutMs: 500 } });
  t.teardown(() => d.stop());
  const stalled = await Promise.all(Array.from({ length: 10 }, () => open(d.socketPath)));
  t.teardown(() => stalled.forEach((s) => s.socket.destroy()));
  for (const s of stalled) s.socket.write(`Content-Length: 1000000\r\n\r\n{"jsonrpc":"2.0","id":1,"method":"echo.echo","params":{"x":"${"y".repeat(100_000)}`);
  await d.waitFor(() => stalled.every((s) => s.closed), "the daemon to close every stalled client");
  for (const s of stalled) t.match(s.frames[0]?.error, { code: ErrorCodes.ParseError, message: /still incomplete .*socket\.frameTimeoutMs/ }, "each is told why");
  await d.logLine("socket.frameTimeoutMs", "the log line naming the limit");
  await stillServes(t, d);
});

t.test("regression: half-frames across all socket clients are bounded by socket.maxPartialBytes", async (t) => {
  const d = await startTestDaemon(undefined, { socket: { maxPartialBytes: 1024 * 1024 } });
  t.teardown(() => d.stop());
  const a = await open(d.socketPath);
  const b = await open(d.socketPath);
  t.teardown(() => (a.socket.destroy(), b.socket.destroy()));
  const head = `Content-Length: 4000000\r\n\r\n{"x":"`;
  a.socket.write(head + "y".repeat(600_000));
  // b's bytes pass the shared budget once both are read; whichever chunk passes it closes its client.
  b.socket.write(head + "y".repeat(600_000));
  await d.waitFor(() => a.closed || b.closed, "one of the two to be closed");
  const dropped = a.closed ? a : b;
  t.match(dropped.frames[0]?.error, { code: ErrorCodes.ParseError, message: /socket\.maxPartialBytes/ });
  await d.logLine("socket.maxPartialBytes", "the log line naming the limit");
  await stillServes(t, d);
});

t.test("regression: the unix socket had no connection cap (socket.maxConnections)", async (t) => {
  // The test daemon's own client is one connection.
  const d = await startTestDaemon(undefined, { socket: { maxConnections: 3 } });
  t.teardown(() => d.stop());
  const held = [await open(d.socketPath), await open(d.socketPath)];
  t.teardown(() => held.forEach((s) => s.socket.destroy()));
  const extra = await open(d.socketPath);
  await d.waitFor(() => extra.closed, "the connection over the cap to be closed");
  t.match(extra.frames[0]?.error, { code: ErrorCodes.Overloaded, message: /3 socket clients connected \(socket\.maxConnections\)/ });
  await d.logLine("refused a socket client", "the log line naming the limit");
  await stillServes(t, d);
  held[0].socket.destroy();
  await d.waitFor(async () => {
    const again = await open(d.socketPath);
    again.socket.write(encodeFrame({ jsonrpc: "2.0", id: 7, method: "echo.reverse", params: { text: "ok" } }));
    await d.waitFor(() => again.frames.length > 0 || again.closed, "an answer or a refusal");
    again.socket.destroy();
    return again.frames[0]?.result === "ko";
  }, "a new client to be admitted once one left");
});

t.test("a client idle for socket.idleTimeoutMs is closed; one with a subscription is not", async (t) => {
  const d = await startTestDaemon(undefined, { socket: { idleTimeoutMs: 300 } });
  t.teardown(() => d.stop());
  const idle = await open(d.socketPath);
  t.teardown(() => idle.socket.destroy());
  await d.waitFor(() => idle.closed, "the idle client to be closed");
  t.match(idle.frames[0]?.error?.message, /idle for \d+ ms .*socket\.idleTimeoutMs/);
  // The test daemon's client holds a subscription and was idle as long: still connected.
  await stillServes(t, d);
});
