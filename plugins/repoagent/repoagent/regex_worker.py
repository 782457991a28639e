"""The child process behind repo.search's regex mode: it matches, the plugin keeps the clock.

Python's ``re`` backtracks, so a pattern such as ``(a+)+$`` can run for minutes on one line, and
it holds the GIL while it does: in the plugin's own process it would stall every other call. Here
it runs in a process the plugin kills when the call's time budget is spent (regex_search.py).

Standard library only, and no imports from the plugin, so it runs as ``python -I -S`` from any
cwd. Frames on stdin/stdout are a 4-byte big-endian length followed by the payload:

1. in: JSON ``{"pattern": str, "flags": int}``; out: JSON ``{"ok": true}`` or ``{"error": str}``;
2. then, per file, in: 4-byte ``want`` (matches still wanted) + the file's bytes; out: JSON
   ``[[line, column, text], ...]`` (at most ``want``, text cut to ``max_chars``);
3. EOF on stdin: exit 0.
"""

from __future__ import annotations

import json
import re
import struct
import sys

_LEN = struct.Struct(">I")


def _read_exact(stream, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _read_frame(stream) -> bytes | None:
    head = _read_exact(stream, _LEN.size)
    if head is None:
        return None
    return _read_exact(stream, _LEN.unpack(head)[0])


def _write_frame(stream, payload: bytes) -> None:
    stream.write(_LEN.pack(len(payload)) + payload)
    stream.flush()


def search_lines(pat: re.Pattern[str], data: bytes, want: int, max_chars: int) -> list[list[object]]:
    """The first ``want`` matching lines of ``data`` as [line, column, text] (1-based)."""
    out: list[list[object]] = []
    text = data.decode("utf-8", errors="replace")
    for no, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        m = pat.search(line)
        if m is None:
            continue
        out.append([no, m.start() + 1, line[:max_chars]])
        if len(out) >= want:
            break
    return out


def main() -> int:
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    header = _read_frame(inp)
    if header is None:
        return 0
    spec = json.loads(header)
    try:
        pat = re.compile(spec["pattern"], spec["flags"])
    except re.error as e:
        _write_frame(out, json.dumps({"error": str(e)}).encode())
        return 0
    max_chars = int(spec.get("maxChars", 500))
    _write_frame(out, b'{"ok": true}')
    while True:
        frame = _read_frame(inp)
        if frame is None:
            return 0
        want = _LEN.unpack(frame[: _LEN.size])[0]
        found = search_lines(pat, frame[_LEN.size :], want, max_chars)
        _write_frame(out, json.dumps(found, ensure_ascii=False).encode("utf-8"))


if __name__ == "__main__":
    sys.exit(main())
