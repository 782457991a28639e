"""The read/write loop: a reader thread turning stdin bytes into messages, and the single writer
thread that puts frames on stdout."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import Any

from .framing import FrameDecoder, FramingError, decode_body, encode_body, frame
from .stdio import _diag


def _read_frames(in_fd: int, post: Callable[[str, Any], None]) -> None:
    """Read frames from ``in_fd`` until EOF (runs in the reader thread). Each input is handed to
    ``post(kind, payload)``: ``("msg", message)``, ``("bad", reason)`` or ``("eof", None)``."""
    decoder = FrameDecoder()
    while True:
        try:
            chunk = os.read(in_fd, 1 << 20)
        except InterruptedError:  # pragma: no cover
            continue
        except OSError:
            chunk = b""
        if not chunk:
            post("eof", None)
            return
        for item in decoder.feed(chunk):
            if isinstance(item, FramingError):
                post("bad", f"framing error: {item}")
                continue
            try:
                msg = decode_body(item)
            except ValueError as e:
                post("bad", f"invalid JSON: {e}")
                continue
            post("msg", msg)


class _Writer:
    """The single writer of stdout frames: a thread draining a queue, so frames never interleave
    and a slow reader never blocks the event loop."""

    def __init__(self, fd: int, on_broken: Callable[[], None]) -> None:
        self._fd = fd
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._on_broken = on_broken
        self.broken = False
        self._thread = threading.Thread(target=self._run, name="bkg-writer", daemon=True)
        self._thread.start()

    def send(self, msg: Any) -> None:
        body = encode_body(msg)  # raises TypeError/ValueError for non-JSON values
        if not self.broken:
            self._q.put((frame(body), body))

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            try:
                for part in item:
                    view = memoryview(part)
                    while view:
                        n = os.write(self._fd, view)
                        view = view[n:]
            except OSError as e:
                self.broken = True
                _diag(f"stdout closed ({e}); stopping")
                self._on_broken()
                return

    def close(self, timeout: float) -> None:
        self._q.put(None)
        self._thread.join(timeout)
