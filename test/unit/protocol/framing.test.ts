import t from "tap";
import { FrameParser, FrameWriter, type FramingError, MAX_FRAMES_PER_WRITE, encodeFrame } from "@bkg/protocol";

function parse(chunks: (string | Buffer)[], max?: number) {
  const msgs: unknown[] = [];
  const errors: FramingError[] = [];
  const p = new FrameParser(
    (m) => msgs.push(m),
    (e) => errors.push(e),
    { maxMessageBytes: max },
  );
  for (const c of chunks) p.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return { msgs, errors };
}

t.test("many messages in one chunk, one message across many chunks", async (t) => {
  const a = encodeFrame({ a: 1 });
  const b = encodeFrame({ b: "ü🎉" });
  t.same(parse([a + b + a]).msgs, [{ a: 1 }, { b: "ü🎉" }, { a: 1 }]);
  const bytes = Buffer.from(b);
  t.same(parse([...bytes].map((x) => Buffer.from([x]))).msgs, [{ b: "ü🎉" }], "byte by byte, split inside a multi-byte character");
});

t.test("Content-Length counts bytes, headers are case-insensitive, Content-Type is allowed", async (t) => {
  const body = JSON.stringify({ s: "日本" });
  const raw = `content-length: ${Buffer.byteLength(body)}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n${body}`;
  t.same(parse([raw]).msgs, [{ s: "日本" }]);
});

t.test("garbage is caught at the first byte, not buffered", async (t) => {
  const r = parse(["hello world\n"]);
  t.equal(r.errors.length, 1);
  t.equal(r.errors[0].kind, "header");
  t.ok(r.errors[0].fatal);
  const r2 = parse([`${encodeFrame({ ok: 1 })}oops`]);
  t.same(r2.msgs, [{ ok: 1 }], "messages before the garbage still arrive");
  t.equal(r2.errors[0].kind, "header");
});

t.test("regression: garbage arriving in the same chunk as a frame is named as garbage", async (t) => {
  const r = parse([`hello from a plugin that prints\n${encodeFrame({ ok: 1 })}`]);
  t.equal(r.errors[0].kind, "header");
  t.match(r.errors[0].message, /expected a "Content-Length:" header, got "hello from a plugin/);
});

t.test("a header block without Content-Length, or with a bad one", async (t) => {
  t.match(parse(["Content-Type: x\r\n\r\n{}"]).errors[0].message, /no Content-Length/);
  t.match(parse(["Content-Length: ten\r\n\r\n{}"]).errors[0].message, /not a number/);
  t.match(parse(["Content-Length: 2\r\nContent-Type: text/plain; charset=latin1\r\n\r\n{}"]).errors[0].message, /charset/);
});

t.test("the size limit is enforced before the body is buffered", async (t) => {
  const r = parse(["Content-Length: 999999999\r\n\r\n"], 1000);
  t.equal(r.errors[0].kind, "too-large");
  t.match(r.errors[0].message, /999999999 bytes is over the limit of 1000/);
});

t.test("bad JSON in a good frame is not fatal", async (t) => {
  const r = parse([`Content-Length: 5\r\n\r\n{nope${encodeFrame({ after: true })}`]);
  t.equal(r.errors[0].kind, "json");
  t.notOk(r.errors[0].fatal);
  t.same(r.msgs, [{ after: true }], "the stream resynchronises on the next frame");
});

t.test("after a fatal error the parser ignores further input", async (t) => {
  const msgs: unknown[] = [];
  const p = new FrameParser(
    (m) => msgs.push(m),
    () => undefined,
  );
  p.push(Buffer.from("xx"));
  p.push(Buffer.from(encodeFrame({ late: 1 })));
  t.same(msgs, []);
});

t.test("the writer coalesces a tick's frames into one write", async (t) => {
  const writes: string[] = [];
  const w = new FrameWriter({ write: (s) => (writes.push(s), true) });
  w.write({ a: 1 });
  w.write({ b: 2 });
  t.equal(writes.length, 0, "nothing is written synchronously");
  await Promise.resolve();
  t.equal(writes.length, 1);
  t.same(parse([writes[0]]).msgs, [{ a: 1 }, { b: 2 }]);
  w.write({ c: 3 });
  w.flushNow();
  t.equal(writes.length, 2, "flushNow writes at once");
});

t.test("a tick's frames go out MAX_FRAMES_PER_WRITE at a time, the first before the tick ends", async (t) => {
  const writes: string[] = [];
  const w = new FrameWriter({ write: (s) => (writes.push(s), true) });
  const n = MAX_FRAMES_PER_WRITE * 2 + 3;
  for (let i = 0; i < n; i++) {
    w.write({ i });
    if (i === MAX_FRAMES_PER_WRITE - 2) t.equal(writes.length, 0, "nothing before the batch is full");
    if (i === MAX_FRAMES_PER_WRITE - 1) t.equal(writes.length, 1, "a full batch is written at once, while the tick goes on");
  }
  t.equal(writes.length, 2, "two full batches so far");
  await Promise.resolve();
  t.same(
    writes.map((x) => parse([x]).msgs.length),
    [MAX_FRAMES_PER_WRITE, MAX_FRAMES_PER_WRITE, 3],
    "the rest at the end of the tick",
  );
  t.same(
    writes.flatMap((x) => parse([x]).msgs),
    Array.from({ length: n }, (_, i) => ({ i })),
    "every frame once, in order",
  );
  await Promise.resolve();
  t.equal(writes.length, 3, "no empty write after a full batch emptied the queue");
});

t.test("the one-header fast path reads the same lengths as the general parser", async (t) => {
  const body = JSON.stringify({ s: "日本" });
  const n = Buffer.byteLength(body);
  for (const header of [`Content-Length: ${n}`, `content-length:${n}`, `CONTENT-LENGTH:   ${n}`, `Content-Length: ${n} `]) {
    t.same(parse([`${header}\r\n\r\n${body}`]).msgs, [{ s: "日本" }], JSON.stringify(header));
  }
  t.match(parse(["Content-Length: 2x\r\n\r\n{}"]).errors[0].message, /not a number/, "a bad value still gets the general parser's message");
  t.match(parse(["Content-Length: \r\n\r\n{}"]).errors[0].message, /not a number/);
  t.match(parse(["Content-Length: 99999999999999999999\r\n\r\n{}"], 1000).errors[0].kind, "too-large", "a huge length is still refused");
});

t.test("regression: a large frame is parsed in linear time (the parser copied its whole buffer per chunk)", async (t) => {
  // Counts the bytes FrameParser copies through Buffer.concat: 50 MB in 64 KiB chunks used to
  // copy ~20 GB (n^2 / 2 / chunk); linear parsing copies each byte a small constant number of times.
  const concat = Buffer.concat;
  let copied = 0;
  Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
    const out = concat(list, total);
    copied += out.length;
    return out;
  }) as typeof Buffer.concat;
  t.teardown(() => void (Buffer.concat = concat));
  const body = JSON.stringify({ blob: "x".repeat(50 * 1024 * 1024) });
  const frame = Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}${encodeFrame({ after: 1 })}`);
  const msgs: unknown[] = [];
  const p = new FrameParser(
    (m) => msgs.push(m),
    (e) => t.fail(e.message),
    { maxMessageBytes: 64 * 1024 * 1024 },
  );
  const CHUNK = 64 * 1024;
  let maxHeld = 0;
  for (let i = 0; i < frame.length; i += CHUNK) {
    p.push(frame.subarray(i, i + CHUNK));
    maxHeld = Math.max(maxHeld, p.buffered);
  }
  Buffer.concat = concat;
  t.equal(msgs.length, 2, "the large frame and the one after it arrive");
  t.equal((msgs[0] as { blob: string }).blob.length, 50 * 1024 * 1024);
  t.ok(copied <= 2 * frame.length, `copied ${copied} bytes for a ${frame.length}-byte stream (at most twice its size)`);
  t.ok(maxHeld <= frame.length, "never holds more than was sent");
  t.equal(p.buffered, 0, "nothing is held after the last frame");
});

t.test("buffered and partialSince report a half-sent frame, and clear when it completes", async (t) => {
  const msgs: unknown[] = [];
  const p = new FrameParser(
    (m) => msgs.push(m),
    (e) => t.fail(e.message),
  );
  t.equal(p.buffered, 0);
  t.equal(p.partialSince, 0);
  const f = Buffer.from(encodeFrame({ k: "v".repeat(1000) }));
  const before = Date.now();
  p.push(f.subarray(0, 10));
  t.equal(p.buffered, 10, "part of the header");
  t.ok(p.partialSince >= before && p.partialSince <= Date.now(), "the time it began");
  p.push(f.subarray(10, 500));
  p.push(f.subarray(500, 900));
  const started = p.partialSince;
  t.ok(p.buffered > 800 && p.buffered <= 900, "part of the body (the header is read)");
  t.equal(p.partialSince, started, "still the time the frame began");
  p.push(f.subarray(900));
  t.equal(msgs.length, 1);
  t.equal(p.buffered, 0);
  t.equal(p.partialSince, 0);
});
