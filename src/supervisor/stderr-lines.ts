/**
 * A plugin's stderr as lines, each cut at maxBytes: readline keeps a line without a newline in
 * memory whole (a plugin writing 100 MB without one would have it all in the daemon), this keeps
 * at most maxBytes of it and counts the rest, which the line's note then gives.
 */
import type { Readable } from "node:stream";

/** Calls onLine for every line (without its newline); `cut` is how many bytes were dropped from it. */
export function readStderrLines(stream: Readable, maxBytes: number, onLine: (line: string, cut: number) => void): void {
  let head: Buffer[] = [];
  let kept = 0;
  let cut = 0;
  const take = (b: Buffer) => {
    const room = maxBytes - kept;
    // Copies: a slice would keep the whole chunk it came from alive.
    if (b.length <= room) {
      head.push(Buffer.from(b));
      kept += b.length;
    } else {
      if (room > 0) head.push(Buffer.from(b.subarray(0, room)));
      kept += Math.max(0, room);
      cut += b.length - Math.max(0, room);
    }
  };
  const emit = () => {
    let line = Buffer.concat(head).toString("utf8");
    if (line.endsWith("\r")) line = line.slice(0, -1);
    onLine(line, cut);
    head = [];
    kept = cut = 0;
  };
  stream.on("data", (chunk: Buffer) => {
    let from = 0;
    for (let nl = chunk.indexOf(10, from); nl !== -1; nl = chunk.indexOf(10, from)) {
      take(chunk.subarray(from, nl));
      emit();
      from = nl + 1;
    }
    if (from < chunk.length) take(chunk.subarray(from));
  });
  stream.on("end", () => {
    if (kept || cut) emit();
  });
}

/** The line as logged: cut lines say so, with the figure. */
export function markCut(line: string, cut: number, maxBytes: number): string {
  return cut ? `${line} [line cut at ${maxBytes} bytes (logs.maxLineBytes); ${cut} more bytes dropped]` : line;
}

/** A message (bkg/log) cut at maxBytes, with the same note. */
export function cutMessage(msg: string, maxBytes: number): string {
  if (msg.length <= maxBytes / 4 || Buffer.byteLength(msg) <= maxBytes) return msg;
  const b = Buffer.from(msg);
  return markCut(b.subarray(0, maxBytes).toString("utf8"), b.length - maxBytes, maxBytes);
}

/**
 * The line of a dying plugin's stderr that says why, for the one-line failure people see
 * ("SyntaxError: Unexpected identifier", "ModuleNotFoundError: ..."): the last line naming an
 * error, else the last line that is not a stack frame or a runtime banner.
 */
export function stderrHeadline(lines: readonly string[]): string | undefined {
  const text = lines.map((l) => l.trim()).filter((l) => l && !/^at\s|^Node\.js v|^\^+$|^File "|^Traceback/.test(l));
  const error = [...text].reverse().find((l) => /^([\w.]*(Error|Exception|Panic)\b|error(\[\w+\])?:|thread '.*' panicked)/i.test(l));
  const line = error ?? text.at(-1);
  return line && line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
