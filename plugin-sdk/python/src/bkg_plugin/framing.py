"""Content-Length framing (LSP base protocol) for bkg protocol v1."""

from __future__ import annotations

import json
import re
from typing import Any

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_RESYNC = re.compile(rb"content-length", re.IGNORECASE)
MAX_HEADER_BYTES = 8192


class FramingError(Exception):
    """The byte stream did not hold a valid frame header."""


def encode_body(msg: Any) -> bytes:
    """Serialise one message as compact UTF-8 JSON.

    Raises TypeError/ValueError for values JSON cannot carry (objects, NaN, ...). Strings holding
    lone surrogates cannot be UTF-8 encoded; they fall back to ASCII escapes, still valid JSON.
    """
    try:
        return json.dumps(msg, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(msg, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode("ascii")


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body)


def decode_body(body: bytes) -> Any:
    """Parse a frame's body (must be UTF-8 JSON). Raises ValueError."""
    return json.loads(body.decode("utf-8"))


class FrameDecoder:
    """Incremental decoder: feed bytes, get back complete bodies (or FramingError items)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._need: int | None = None  # body length once the header is parsed

    def feed(self, data: bytes) -> list[bytes | FramingError]:
        self._buf += data
        out: list[bytes | FramingError] = []
        while True:
            if self._need is None:
                m = _HEADER_END.search(self._buf, 0, MAX_HEADER_BYTES + 4)
                if m is None:
                    if len(self._buf) > MAX_HEADER_BYTES:
                        out.append(FramingError("frame header too long or missing"))
                        self._resync(1)
                        continue
                    return out
                header = bytes(self._buf[: m.start()])
                try:
                    length, charset_ok = self._parse_header(header)
                except FramingError as e:
                    out.append(e)
                    self._resync(m.end())
                    continue
                del self._buf[: m.end()]
                self._need = length
                if not charset_ok:
                    # Skip this body once it has arrived, then report it.
                    self._need = -length - 1
            need = self._need
            skip = need < 0
            size = -need - 1 if skip else need
            if len(self._buf) < size:
                return out
            body = bytes(self._buf[:size])
            del self._buf[:size]
            self._need = None
            out.append(FramingError("Content-Type charset must be utf-8") if skip else body)

    def _resync(self, start: int) -> None:
        m = _RESYNC.search(self._buf, start)
        if m is None:
            keep = len("content-length") - 1
            del self._buf[: max(0, len(self._buf) - keep)]
        else:
            del self._buf[: m.start()]
        self._need = None

    @staticmethod
    def _parse_header(header: bytes) -> tuple[int, bool]:
        length: int | None = None
        charset_ok = True
        try:
            text = header.decode("ascii")
        except UnicodeDecodeError:
            raise FramingError("frame header is not ASCII") from None
        for line in re.split(r"\r?\n", text):
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise FramingError(f"bad header line {line!r}")
            name = name.strip().lower()
            value = value.strip()
            if name == "content-length":
                if not value.isdigit():
                    raise FramingError(f"bad Content-Length {value!r}")
                length = int(value)
            elif name == "content-type":
                for part in value.split(";")[1:]:
                    k, _, v = part.partition("=")
                    if k.strip().lower() == "charset" and v.strip().strip('"').lower() not in ("utf-8", "utf8"):
                        charset_ok = False
        if length is None:
            raise FramingError("frame header has no Content-Length")
        return length, charset_ok
