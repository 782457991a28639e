import { PassThrough } from "node:stream";
import t from "tap";
import { cutMessage, markCut, readStderrLines } from "../../../src/supervisor/stderr-lines.js";

t.test("bug: a plugin's stderr line without a newline was kept whole in the daemon; lines are cut at maxBytes, the rest counted", async (t) => {
  const s = new PassThrough();
  const got: [string, number][] = [];
  readStderrLines(s, 8, (line, cut) => got.push([line, cut]));
  s.write("short\nabc");
  s.write("defghijklmnop");
  s.write("qrstuvwxyz\r\nlast-no-newline");
  s.end();
  await new Promise((r) => s.on("end", r));
  t.same(got, [
    ["short", 0],
    ["abcdefgh", 19], // 26 letters and the \r, past the first 8
    ["last-no-", 7],
  ]);
  t.equal(markCut("abcdefgh", 18, 8), "abcdefgh [line cut at 8 bytes (logs.maxLineBytes); 18 more bytes dropped]");
  t.equal(cutMessage("x".repeat(2000), 1024), `${"x".repeat(1024)} [line cut at 1024 bytes (logs.maxLineBytes); 976 more bytes dropped]`);
  t.equal(cutMessage("fine", 1024), "fine");
});
